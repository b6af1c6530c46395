// Package sqlstore implements the storage ports with Bun, on Postgres in
// production and on an embedded SQLite file by default. Driver errors are
// translated into domain errors here and never travel further up.
package sqlstore

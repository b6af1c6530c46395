package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/extra/bunotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the spans of the prepared reads; Bun's own queries are
// reported by bunotel under "github.com/uptrace/bun".
const tracerName = "github.com/ums-project/ums/adapters/sqlstore"

// Trace makes every query (transactions' BEGIN and COMMIT included) a
// client span of the caller's span, named "OPERATION table": Bun's queries
// through bunotel, the prepared hot-path reads here. Statements are
// recorded with their placeholders, never with the values Bun renders
// into them (hashes, emails, tokens). A query outside any trace (a
// background job's poll) makes no span: it would be a trace of its own
// every few seconds. Call it before the DB is shared; without a call
// nothing is hooked, so an untraced deployment pays nothing per query.
func (db *DB) Trace(tp trace.TracerProvider) {
	db.DB = db.WithQueryHook(tracedOnly{bunotel.NewQueryHook(
		bunotel.WithTracerProvider(tp),
		// Prometheus has the pool metrics already.
		bunotel.WithMeterProvider(metricnoop.NewMeterProvider()),
		bunotel.WithFormattedQueries(false),
		bunotel.WithSpanNameQueryGen(querySpanName),
	)})
	db.tracer = tp.Tracer(tracerName)
}

// tracedOnly starts query spans only inside a trace. Its AfterQuery is
// bunotel's, which ends the span BeforeQuery started and does nothing
// when ctx holds no recording span.
type tracedOnly struct{ *bunotel.QueryHook }

func (h tracedOnly) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return h.QueryHook.BeforeQuery(ctx, e)
}

func querySpanName(e *bun.QueryEvent) string {
	op := e.Operation()
	if e.IQuery != nil {
		if table := e.IQuery.GetTableName(); table != "" {
			return op + " " + table
		}
	}
	return op
}

func (db *DB) tracedQuery(ctx context.Context, q prepared, args ...any) (*sql.Rows, error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return db.runQuery(ctx, q, args...)
	}
	system, statement := "sqlite", q.sqlite
	if db.Dialect == Postgres {
		system, statement = "postgresql", q.postgres
	}
	ctx, span := db.tracer.Start(ctx, q.span, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system", system),
		attribute.String("db.operation", strings.SplitN(q.span, " ", 2)[0]),
		attribute.String("db.statement", statement),
	))
	defer span.End()
	rows, err := db.runQuery(ctx, q, args...)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return rows, err
}

// statementSpanName is "OPERATION table" for a prepared statement: its
// first word and the table after FROM, INTO or UPDATE.
func statementSpanName(query string) string {
	words := strings.Fields(query)
	if len(words) == 0 {
		return "query"
	}
	op := strings.ToUpper(words[0])
	for i, w := range words[:len(words)-1] {
		switch strings.ToUpper(w) {
		case "FROM", "INTO":
			return op + " " + strings.Trim(words[i+1], `"(`)
		case "UPDATE":
			if i == 0 {
				return op + " " + strings.Trim(words[i+1], `"(`)
			}
		}
	}
	return op
}

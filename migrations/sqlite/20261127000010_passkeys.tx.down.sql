DROP TABLE IF EXISTS webauthn_ceremonies;
--bun:split
DROP TABLE IF EXISTS passkeys;

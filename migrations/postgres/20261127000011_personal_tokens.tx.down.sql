DROP TABLE IF EXISTS personal_access_tokens;

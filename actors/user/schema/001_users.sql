-- Users: one row per user; every write bumps version (fencing).
CREATE TABLE IF NOT EXISTS users (
  id            uuid        PRIMARY KEY,
  email         text        NOT NULL,
  password_hash text        NOT NULL,
  display_name  text        NOT NULL,
  role          text        NOT NULL CHECK (role IN ('user', 'admin')),
  version       bigint      NOT NULL CHECK (version > 0),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email);

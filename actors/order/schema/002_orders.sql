-- Orders: the saga's state. The id is derived from (user_id, idempotency_key), and the
-- unique index backs that up. Every write bumps version (fencing).
CREATE TABLE IF NOT EXISTS orders (
  id               uuid        PRIMARY KEY,
  user_id          uuid        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('pending', 'reserved', 'authorized',
                                 'confirmed', 'rejecting', 'rejected', 'cancelling', 'cancelled')),
  items            jsonb       NOT NULL,
  payment_method   text        NOT NULL,
  payment_token    text        NOT NULL,
  idempotency_key  text        NOT NULL,
  request_hash     text        NOT NULL,
  authorization_id text        NOT NULL DEFAULT '',
  reason           text        NOT NULL DEFAULT '',
  version          bigint      NOT NULL CHECK (version > 0),
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_idempotency ON orders (user_id, idempotency_key);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at DESC, id DESC);
-- Recovery looks for sagas that stopped short of a final status.
CREATE INDEX IF NOT EXISTS orders_unfinished ON orders (updated_at)
  WHERE status NOT IN ('confirmed', 'rejected', 'cancelled');

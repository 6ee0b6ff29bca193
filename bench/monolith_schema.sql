-- The monolith's database for bench/monolith_order.sql, loaded after the project's own
-- order and notification migrations (the same tables, indexes and constraints Troupe
-- writes): the outbox is a copy of runtime/src/events/schema.cpp's troupe_outbox, then
-- the data of Troupe's bench load (bench_order_setup): one user whose contact is known
-- (learnt from its registration) and who set no preferences, and sku-1..sku-8 stocked
-- so that no run ever runs out.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_id uuid UNIQUE NOT NULL,
  stream text NOT NULL,
  stream_key text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX outbox_undelivered ON outbox (stream, stream_key, id) WHERE delivered_at IS NULL;

INSERT INTO notification_contacts (user_id, email)
  VALUES ('6d1f7c1e-1b9a-4f6e-9a35-0c2b8e4d5a10', 'bench@example.org');
INSERT INTO stock (sku, on_hand, reserved, version)
  SELECT 'sku-' || i, 1000000000, 0, 1 FROM generate_series(1, 8) AS i;

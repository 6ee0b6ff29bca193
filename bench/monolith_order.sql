-- One happy-path order as a well-written single-process service (the monolith) places it:
-- the baseline of bench/order_post.sh, run by pgbench -M prepared on its own database,
-- whose tables are the project's own migrations (actors/order/schema,
-- actors/notification/schema) plus a copy of the outbox (bench/monolith_schema.sql).
--
-- Why this is the fair monolith: it stores exactly what a confirmed Troupe order leaves
-- behind (the order, its reservation as taken, its order.confirmed event, the email and
-- push notification rows, the stock change, and later the notifications marked sent),
-- with the fewest statements and the shortest locks a careful hand-written service would
-- use, and it acknowledges the order only after its COMMIT, like Troupe:
--   * payment is authorized before the transaction (the simulated provider: no SQL);
--   * ONE transaction: the order is born confirmed (ON CONFLICT on the idempotency key
--     makes a replay insert nothing; keys are unique here, so every run is a new order),
--     the reservation born taken, the outbox row born delivered (its consumer runs in
--     the same process and writes the notification rows in the same transaction, one
--     statement honouring the user's preferences and contact), and the stock row updated
--     last so that the hot row's lock is held only through COMMIT;
--   * the sender's "sent" marks are batched outside the order's transaction: one run in
--     50 marks the 100 oldest due rows (each order makes two).
-- The load is Troupe's (bench_order_lua): one user, sku-1..sku-8, quantity 1. The few
-- strings built in SQL below (SKU name, JSON, texts) stand in for the application's own
-- serialization; request_hash and authorization_id would come from the application.
--
-- Variables (pgbench -D): user (uuid), run (1, 2, ...: keeps keys unique across runs),
-- n=0 (a per-client counter: pgbench keeps a client's variables from run to run).
\set n :n + 1
\set key (:run * 1000 + :client_id) * 100000000 + :n
\set sku random(1, 8)
\set quantity 1
BEGIN;
INSERT INTO orders (id, user_id, status, items, payment_method, payment_token,
    idempotency_key, request_hash, authorization_id, version, created_at, updated_at)
  VALUES (gen_random_uuid(), :user, 'confirmed',
    ('[{"sku":"sku-' || :sku || '","quantity":' || :quantity || '}]')::jsonb, 'sim', 'tok_ok',
    :key, '9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f',
    gen_random_uuid()::text, 1, now(), now())
  ON CONFLICT (user_id, idempotency_key) DO NOTHING
  RETURNING id AS order_id \gset
INSERT INTO stock_reservations (sku, order_id, quantity, state)
  VALUES ('sku-' || :sku, :order_id, :quantity, 'taken');
INSERT INTO outbox (event_id, stream, stream_key, type, payload, delivered_at)
  VALUES (gen_random_uuid(), 'order', :order_id, 'order.confirmed',
    jsonb_build_object('order_id', :order_id::text, 'user_id', :user::text, 'status', 'confirmed',
      'reason', '', 'items', jsonb_build_array(jsonb_build_object('sku', 'sku-' || :sku,
      'quantity', :quantity::bigint))),
    now())
  RETURNING event_id \gset
INSERT INTO notifications (id, event_id, channel, user_id, recipient, subject, body, status,
    next_attempt_at, created_at, updated_at)
  SELECT gen_random_uuid(), :event_id::text, ch.channel, :user::uuid,
      CASE WHEN ch.channel = 'email' AND c.email IS NOT NULL THEN c.email
           ELSE 'user:' || :user::text END,
      'Order confirmed', 'Your order ' || :order_id::text || ' is confirmed.', 'pending',
      now(), now(), now()
    FROM (VALUES ('email'), ('push')) AS ch (channel)
    LEFT JOIN notification_preferences p ON p.user_id = :user
    LEFT JOIN notification_contacts c ON c.user_id = :user
    WHERE CASE ch.channel WHEN 'email' THEN COALESCE(p.email, true)
                          ELSE COALESCE(p.push, true) END
  ON CONFLICT (event_id, channel) DO NOTHING;
-- The check that keeps stock from going negative is the WHERE; out of stock would roll back.
UPDATE stock SET on_hand = on_hand - :quantity, version = version + 1
  WHERE sku = 'sku-' || :sku AND on_hand - reserved >= :quantity;
COMMIT;
\set mark random(1, 50)
\if :mark = 1
UPDATE notifications SET status = 'sent', attempts = attempts + 1, last_error = '',
    claimed_until = NULL, updated_at = now()
  WHERE id IN (SELECT id FROM notifications WHERE status IN ('pending', 'failed')
                 AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED);
\endif

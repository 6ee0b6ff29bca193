-- The confirming update must be a HOT update (no new index entries, the new row version
-- on the same page): no index may cover a column it changes (status, authorization_id,
-- reason, version, updated_at), predicates included. orders_unfinished covered two.
-- Recovery now walks orders by creation time, which never changes, from a point below
-- which every order is known to be final (see order_postgres.cpp).
DROP INDEX IF EXISTS orders_unfinished;
CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created_at);
-- Room on each page for the confirmed version of the rows inserted there.
ALTER TABLE orders SET (fillfactor = 90);

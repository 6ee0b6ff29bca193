-- Stock per SKU and the reservations held against it. The checks keep stock from
-- going negative even if a bug slipped past the entity.
CREATE TABLE IF NOT EXISTS stock (
  sku      text   PRIMARY KEY,
  on_hand  bigint NOT NULL CHECK (on_hand >= 0),
  reserved bigint NOT NULL CHECK (reserved >= 0 AND reserved <= on_hand),
  version  bigint NOT NULL CHECK (version > 0)
);
-- One row per (SKU, order): held, taken (the order was confirmed) or released. A
-- release without a reservation leaves a released row so a late reserve is a no-op,
-- even for a SKU that has no stock row yet (hence no foreign key).
CREATE TABLE IF NOT EXISTS stock_reservations (
  sku      text   NOT NULL,
  order_id text   NOT NULL,
  quantity bigint NOT NULL CHECK (quantity >= 0),
  state    text   NOT NULL CHECK (state IN ('held', 'taken', 'released')),
  PRIMARY KEY (sku, order_id)
);
CREATE INDEX IF NOT EXISTS stock_reservations_held ON stock_reservations (sku)
  WHERE state = 'held';

-- What the notification domain knows of users: learnt from user events, never read
-- from another domain's tables.
CREATE TABLE IF NOT EXISTS notification_contacts (
  user_id uuid PRIMARY KEY,
  email   text NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_preferences (
  user_id    uuid        PRIMARY KEY,
  email      boolean     NOT NULL,
  push       boolean     NOT NULL,
  sms        boolean     NOT NULL,
  updated_at timestamptz NOT NULL
);
-- One row per event and channel: the unique key makes a redelivered event a no-op.
CREATE TABLE IF NOT EXISTS notifications (
  id              uuid        PRIMARY KEY,
  event_id        text        NOT NULL,
  channel         text        NOT NULL CHECK (channel IN ('email', 'push', 'sms')),
  user_id         uuid        NOT NULL,
  recipient       text        NOT NULL,
  subject         text        NOT NULL,
  body            text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
  attempts        integer     NOT NULL DEFAULT 0,
  last_error      text        NOT NULL DEFAULT '',
  next_attempt_at timestamptz NOT NULL,
  claimed_until   timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (event_id, channel)
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at)
  WHERE status IN ('pending', 'failed');
CREATE INDEX IF NOT EXISTS notifications_by_user ON notifications (user_id, created_at DESC);

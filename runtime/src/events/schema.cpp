#include "troupe/events/schema.hpp"

namespace troupe::events {

std::vector<store::migration> outbox_migrations() {
  // Versions are global across modules and domains: events own 10-19.
  return {
      {10, "outbox",
       "create table troupe_outbox ("
       " id bigserial primary key,"
       " event_id uuid unique not null,"
       " stream text not null,"
       " stream_key text not null,"
       " type text not null,"
       " payload jsonb not null,"
       " created_at timestamptz not null default now(),"
       " delivered_at timestamptz);"
       // The relay only ever looks for the oldest undelivered event of each key; the partial
       // index stays as small as the backlog, however long the delivered history grows.
       "create index troupe_outbox_undelivered on troupe_outbox (stream, stream_key, id)"
       " where delivered_at is null;"},
      {11, "consumed",
       "create table troupe_consumed ("
       " consumer text not null,"
       " event_id uuid not null,"
       " consumed_at timestamptz not null default now(),"
       " primary key (consumer, event_id))"},
  };
}

} // namespace troupe::events

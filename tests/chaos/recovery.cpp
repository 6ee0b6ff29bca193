#include "recovery.hpp"

#include <algorithm>
#include <map>

namespace troupe::chaos_harness {

bool succeeded(const operation& op) {
  return op.status > 0 && op.status < 500;
}

namespace {

micros recovered_after(const std::vector<const operation*>& ops, micros from) {
  auto first = std::lower_bound(ops.begin(), ops.end(), from,
                                [](const operation* op, micros t) { return op->sent < t; });
  for (auto it = first; it != ops.end(); ++it) {
    if (!succeeded(**it))
      continue;
    auto begin = (*it)->sent;
    bool steady = true;
    for (auto next = it + 1; next != ops.end() && (*next)->sent < begin + recovery_run; ++next)
      if (!succeeded(**next)) {
        steady = false;
        it = next; // the run broke here: look again after it
        break;
      }
    if (steady)
      return begin;
  }
  return -1;
}

} // namespace

void measure_recovery(run_record& run) {
  std::map<std::string, std::vector<const operation*>> by_node;
  std::vector<const operation*> all;
  for (const auto& op : run.operations) {
    by_node[op.node].push_back(&op);
    all.push_back(&op);
  }
  auto by_sent = [](const operation* a, const operation* b) { return a->sent < b->sent; };
  for (auto& [_, ops] : by_node)
    std::sort(ops.begin(), ops.end(), by_sent);
  std::sort(all.begin(), all.end(), by_sent);
  static const std::vector<const operation*> none;
  for (auto& w : run.faults) {
    bool killed = w.type == "kill" || w.type == "runtime:crash_node";
    auto from = killed ? w.start : w.end;
    const auto* ops = &all;
    if (w.target != "db" && w.target != "all") {
      auto it = by_node.find(w.target);
      ops = it == by_node.end() ? &none : &it->second;
    }
    w.recovered = recovered_after(*ops, from);
  }
}

} // namespace troupe::chaos_harness

#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe::ctl {

/// /admin/cluster as a line naming the node that answered and a table of members.
std::string render_cluster(const nlohmann::json& doc);

/// /admin/supervision as an indented tree, one line per supervisor or child.
std::string render_tree(const nlohmann::json& doc);

/// /admin/entities as a heading and a table of keys per kind.
std::string render_entities(const nlohmann::json& doc);

/// /admin/chaos/faults as a table, one row per fault.
std::string render_faults(const nlohmann::json& doc);

/// An error answer in one line: the status, and the problem's title and detail when the
/// body is problem+json, else the start of the body.
std::string problem_line(unsigned status, std::string_view body);

} // namespace troupe::ctl

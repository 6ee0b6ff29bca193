#pragma once

#include <string>
#include <string_view>

namespace troupe::observability {

class registry;

/// Adds the standard process metrics that stock dashboards and alerts assume
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
/// `process_start_time_seconds`), read from the kernel at every scrape.
void add_process_metrics(registry& reg);

/// Sets `troupe_build_info{version,revision}` to 1, so a dashboard can tell releases apart.
void add_build_info(registry& reg, std::string_view version, std::string_view revision);

/// The process's own figures at one moment, as the kernel reports them.
struct process_sample {
  /// User plus system CPU time, in seconds.
  double cpu_seconds = 0;
  /// Resident set size, in bytes.
  double resident_bytes = 0;
  /// Virtual memory size, in bytes.
  double virtual_bytes = 0;
  /// Open file descriptors.
  double open_fds = 0;
  /// The soft limit on file descriptors.
  double max_fds = 0;
  /// When the process started, in seconds since the Unix epoch.
  double start_time_seconds = 0;
};

/// Reads the calling process's figures; a figure the kernel does not give stays 0.
process_sample sample_process();

/// Renders `s` as the standard process metric families in the text exposition format.
std::string render_process_sample(const process_sample& s);

} // namespace troupe::observability

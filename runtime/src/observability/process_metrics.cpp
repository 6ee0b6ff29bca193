#include "troupe/observability/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "troupe/observability/metrics.hpp"

namespace troupe::observability {

namespace {

double seconds_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Field `n` (1-based, as proc(5) numbers them) of /proc/self/stat. The command name, field 2,
// may hold spaces and parentheses, so counting starts after its closing parenthesis.
std::string stat_field(const std::string& stat, size_t n) {
  auto close = stat.rfind(')');
  if (close == std::string::npos || n < 3)
    return {};
  std::istringstream rest{stat.substr(close + 1)};
  std::string field;
  for (size_t i = 3; i <= n && rest >> field; ++i)
    if (i == n)
      return field;
  return {};
}

std::string read_all(const char* path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// The boot time from /proc/stat's "btime" line, in seconds since the epoch; 0 if absent.
double boot_time() {
  std::ifstream in{"/proc/stat"};
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value)
      return value;
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

double start_time() {
  auto ticks = sysconf(_SC_CLK_TCK);
  auto since_boot = stat_field(read_all("/proc/self/stat"), 22);
  auto boot = boot_time();
  if (ticks <= 0 || since_boot.empty() || boot == 0)
    return 0;
  return boot + std::stod(since_boot) / static_cast<double>(ticks);
}

void append_family(std::string& out, const char* name, const char* type, const char* help,
                   double value) {
  // The shortest text that reads back as the same double.
  char number[64];
  auto end = std::to_chars(number, number + sizeof number, value).ptr;
  out.append("# HELP ").append(name).append(1, ' ').append(help).append(1, '\n');
  out.append("# TYPE ").append(name).append(1, ' ').append(type).append(1, '\n');
  out.append(name).append(1, ' ').append(number, end).append(1, '\n');
}

} // namespace

process_sample sample_process() {
  process_sample s;
  if (rusage usage{}; getrusage(RUSAGE_SELF, &usage) == 0)
    s.cpu_seconds = seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
  auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::istringstream statm{read_all("/proc/self/statm")};
  if (double size = 0, resident = 0; statm >> size >> resident) {
    s.virtual_bytes = size * page;
    s.resident_bytes = resident * page;
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator fd{"/proc/self/fd", ec}, end; !ec && fd != end;
       fd.increment(ec))
    ++s.open_fds;
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0)
    s.max_fds = static_cast<double>(limit.rlim_cur);
  static const double started = start_time();
  s.start_time_seconds = started;
  return s;
}

std::string render_process_sample(const process_sample& s) {
  std::string out;
  append_family(out, "process_cpu_seconds_total", "counter",
                "Total user and system CPU time spent in seconds.", s.cpu_seconds);
  append_family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                s.resident_bytes);
  append_family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                s.virtual_bytes);
  append_family(out, "process_open_fds", "gauge", "Number of open file descriptors.", s.open_fds);
  append_family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                s.max_fds);
  append_family(out, "process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.", s.start_time_seconds);
  return out;
}

void add_process_metrics(registry& reg) {
  // The start time never changes: read it now, so a scrape does not pay for it.
  sample_process();
  reg.add_collector([](std::string& out) { out += render_process_sample(sample_process()); });
}

void add_build_info(registry& reg, std::string_view version, std::string_view revision) {
  reg.gauges("troupe_build_info", "The version and revision this binary was built from (always 1).",
             {"version", "revision"})
      .with({std::string{version}, std::string{revision}})
      .set(1);
}

} // namespace troupe::observability

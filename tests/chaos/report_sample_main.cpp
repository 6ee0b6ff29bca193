// Writes result.json and report.html of the made-up campaign into the folder given.
#include <exception>
#include <iostream>

#include "report.hpp"
#include "sample_run.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: chaos_report_sample DIR\n";
    return 2;
  }
  try {
    troupe::chaos_harness::write_outputs(troupe::chaos_harness::sample_run(), argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "chaos_report_sample: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

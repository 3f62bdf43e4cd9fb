#pragma once
// What every benchmark binary shares: a clock, the process's resident memory,
// and the "--count" mode that runs one workload a fixed number of times and
// exits, so that bench/run can count its instructions under callgrind.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

/// VmRSS of this process, in bytes (0 if /proc is not readable).
inline long rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) * 1024;
  }
  return 0;
}

/// Workloads runnable as `<binary> --count=<name> --n=<count>`: run once with
/// `n` operations, no Google Benchmark around it. Instructions per operation
/// are the difference of two such runs under callgrind, divided by the
/// difference of their `n`, so the fixed costs (process, loop) cancel out.
using CountedRuns = std::map<std::string, std::function<void(long)>>;

/// Runs the --count mode if asked (returns true), else leaves argv alone.
inline bool run_counted(int argc, char** argv, const CountedRuns& runs) {
  std::string name;
  long n = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--count=", 8) == 0) name = argv[i] + 8;
    if (std::strncmp(argv[i], "--n=", 4) == 0) n = std::atol(argv[i] + 4);
  }
  if (name.empty()) return false;
  const auto run = runs.find(name);
  if (run == runs.end() || n <= 0) {
    std::fprintf(stderr, "usage: %s --count=<workload> --n=<count>; workloads:", argv[0]);
    for (const auto& [known, _] : runs) std::fprintf(stderr, " %s", known.c_str());
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  run->second(n);
  return true;
}

/// main() of a Google Benchmark binary that also has a --count mode.
inline int main_with_counts(int argc, char** argv, const CountedRuns& runs) {
  if (run_counted(argc, argv, runs)) return 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench

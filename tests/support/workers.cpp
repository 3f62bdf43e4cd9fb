#include "support/workers.hpp"

#include <cstdlib>

namespace fluid::test {

ScopedEnv::ScopedEnv(const char* name, const char* value) : name_(name), previous_(env(name)) {
  if (value) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
}

ScopedEnv::~ScopedEnv() {
  if (previous_) {
    ::setenv(name_.c_str(), previous_->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

}  // namespace fluid::test

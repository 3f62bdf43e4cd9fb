#include "tasks/ids.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace fluid::detail {

std::string new_uuid_hex() {
  // One generator per thread, seeded once: ids are made on every queue().
  thread_local std::mt19937_64 random{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  std::array<std::uint64_t, 2> bits{random(), random()};
  bits[0] = (bits[0] & ~0xF000ULL) | 0x4000ULL;              // version 4
  bits[1] = (bits[1] & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // variant 10
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    for (int i = 0; i < 16; ++i) out[half * 16 + i] = hex[(bits[half] >> (60 - 4 * i)) & 0xF];
  }
  return out;
}

}  // namespace fluid::detail

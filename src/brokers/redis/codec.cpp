#include "brokers/redis/codec.hpp"

#include "brokers/redis/errors.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <new>

namespace fluid::redis {

namespace {

// The reader builds fluid's Reply directly: a root is allocated, a nested
// value is constructed in place in its parent's elements (sized once, when
// the array header arrives), so freeing the root frees everything, which is
// all the reader ever frees. hiredis is C: nothing may unwind through it; a
// null return is its "out of memory", which fails the reader cleanly.
template <class Fill>
void* build(const redisReadTask* task, Fill fill) noexcept {
  try {
    if (task->parent != nullptr) {
      auto* parent = static_cast<Reply*>(task->parent->obj);
      auto* reply = &parent->elements[static_cast<std::size_t>(task->idx)];
      fill(*reply);
      return reply;
    }
    auto root = std::make_unique<Reply>();
    fill(*root);
    return root.release();
  } catch (...) {
    return nullptr;
  }
}

Reply::Type text_type(int type) {
  if (type == REDIS_REPLY_STATUS) return Reply::Type::status;
  if (type == REDIS_REPLY_ERROR) return Reply::Type::error;
  return Reply::Type::string;
}

void* create_string(const redisReadTask* task, char* data, size_t size) {
  return build(task, [&](Reply& reply) {
    reply.type = text_type(task->type);
    reply.text.assign(data, size);
  });
}

void* create_array(const redisReadTask* task, int elements) {
  return build(task, [&](Reply& reply) {
    reply.type = Reply::Type::array;
    reply.elements.resize(static_cast<std::size_t>(elements));
  });
}

void* create_integer(const redisReadTask* task, long long value) {
  return build(task, [&](Reply& reply) {
    reply.type = Reply::Type::integer;
    reply.integer = value;
  });
}

void* create_nil(const redisReadTask* task) {
  return build(task, [](Reply&) {});
}

void free_reply(void* reply) { delete static_cast<Reply*>(reply); }

redisReplyObjectFunctions reply_functions{
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_reply,
};

[[noreturn]] void protocol_error(redisReader* reader) {
  throw BrokerError(std::string("Redis protocol error: ") + reader->errstr);
}

}  // namespace

void append_command(std::string& out, const std::vector<std::string>& args) {
  std::vector<const char*> data(args.size());
  std::vector<size_t> sizes(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    data[i] = args[i].data();
    sizes[i] = args[i].size();
  }
  char* command = nullptr;
  const int length = redisFormatCommandArgv(&command, static_cast<int>(args.size()), data.data(), sizes.data());
  if (length < 0) throw std::bad_alloc();
  const std::unique_ptr<char, void (*)(char*)> owned(command, redisFreeCommand);
  out.append(command, static_cast<std::size_t>(length));
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out;
  append_command(out, args);
  return out;
}

ReplyDecoder::ReplyDecoder() : reader_(redisReaderCreateWithFunctions(&reply_functions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyDecoder::~ReplyDecoder() { redisReaderFree(reader_); }

void ReplyDecoder::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) protocol_error(reader_);
}

std::optional<Reply> ReplyDecoder::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) protocol_error(reader_);
  if (raw == nullptr) return std::nullopt;
  const std::unique_ptr<Reply> reply(static_cast<Reply*>(raw));
  return std::move(*reply);
}

}  // namespace fluid::redis

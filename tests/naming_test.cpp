// Default worker names: the snake_case of the class name, without namespaces
// or template arguments, so a Python user finds aio-fluid's names again.

#include "support/workers.hpp"

#include <fluid/detail/naming.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using fluid::detail::default_name;
using fluid::detail::snake_case;
using fluid::detail::unqualified_name;

namespace {
struct HTTPServer {};
template <class T>
struct Box {};
}  // namespace

namespace outer::inner {
struct SimpleWorker {};
template <class T>
struct Holder {
  struct Nested {};
};
}  // namespace outer::inner

TEST(UnqualifiedName, KeepsANameWithoutNamespaces) { EXPECT_EQ(unqualified_name("SimpleWorker"), "SimpleWorker"); }

TEST(UnqualifiedName, DropsNamespaces) { EXPECT_EQ(unqualified_name("fluid::test::NiceWorker"), "NiceWorker"); }

TEST(UnqualifiedName, DropsTheAnonymousNamespace) {
  EXPECT_EQ(unqualified_name("(anonymous namespace)::LocalWorker"), "LocalWorker");
  EXPECT_EQ(unqualified_name("app::(anonymous namespace)::LocalWorker"), "LocalWorker");
}

TEST(UnqualifiedName, DropsTemplateArguments) {
  EXPECT_EQ(unqualified_name("fluid::QueueConsumerWorker<long>"), "QueueConsumerWorker");
}

TEST(UnqualifiedName, DropsNestedTemplateArgumentsContainingNamespaces) {
  EXPECT_EQ(unqualified_name("fluid::QueueConsumerWorker<std::pair<int, std::vector<app::Message, "
                             "std::allocator<app::Message> > > >"),
            "QueueConsumerWorker");
}

TEST(UnqualifiedName, KeepsTheInnermostClassOfANestedClass) {
  EXPECT_EQ(unqualified_name("app::Holder<int>::Nested"), "Nested");
}

TEST(SnakeCase, SplitsCamelCaseWords) { EXPECT_EQ(snake_case("SimpleWorker"), "simple_worker"); }

TEST(SnakeCase, KeepsALeadingAcronymAsOneWord) {
  EXPECT_EQ(snake_case("HTTPServer"), "http_server");
  EXPECT_EQ(snake_case("IOWorker"), "io_worker");
}

TEST(SnakeCase, KeepsAnAcronymInsideANameAsOneWord) {
  EXPECT_EQ(snake_case("getHTTPResponseCode"), "get_http_response_code");
}

TEST(SnakeCase, StartsANewWordAfterADigit) {
  EXPECT_EQ(snake_case("Worker2Go"), "worker2_go");
  EXPECT_EQ(snake_case("V2Worker"), "v2_worker");
  EXPECT_EQ(snake_case("HTTP2Server"), "http2_server");
  EXPECT_EQ(snake_case("UTF8Decoder"), "utf8_decoder");
}

TEST(SnakeCase, KeepsTrailingDigitsAndAcronymsInTheLastWord) {
  EXPECT_EQ(snake_case("Worker2"), "worker2");
  EXPECT_EQ(snake_case("ServeHTTP"), "serve_http");
}

TEST(SnakeCase, LeavesSnakeCaseAloneWithoutDoublingUnderscores) {
  EXPECT_EQ(snake_case("already_snake"), "already_snake");
  EXPECT_EQ(snake_case("Simple_Worker"), "simple_worker");
}

TEST(SnakeCase, HandlesShortInputs) {
  EXPECT_EQ(snake_case(""), "");
  EXPECT_EQ(snake_case("A"), "a");
  EXPECT_EQ(snake_case("ABC"), "abc");
}

TEST(DefaultName, IsTheSnakeCaseOfANamespacedClass) {
  EXPECT_EQ(default_name(typeid(outer::inner::SimpleWorker)), "simple_worker");
  EXPECT_EQ(default_name(typeid(fluid::test::NiceWorker)), "nice_worker");
}

TEST(DefaultName, IgnoresTheAnonymousNamespace) { EXPECT_EQ(default_name(typeid(HTTPServer)), "http_server"); }

TEST(DefaultName, IgnoresTemplateArguments) {
  EXPECT_EQ(default_name(typeid(Box<std::map<std::string, std::vector<int>>>)), "box");
  EXPECT_EQ(default_name(typeid(outer::inner::Holder<Box<int>>::Nested)), "nested");
}

TEST(DefaultName, NamesAClassLocalToAFunction) {
  struct LocalWorker {};
  EXPECT_EQ(default_name(typeid(LocalWorker)), "local_worker");
}

TEST(DefaultName, NamesLibraryWorkers) { EXPECT_EQ(default_name(typeid(fluid::WorkerFunction)), "worker_function"); }

// The blocking half of tandem::fs (include/tandem/fs.hpp): file descriptors and their
// system calls, run on a runtime's blocking pool. Every system call that can be
// interrupted is retried on EINTR; every descriptor is opened with O_CLOEXEC.
//
// `operation` arguments name the public entry point without the "tandem::" prefix
// ("fs::read_to_string"); they head error messages.
//
// The coroutines that use this name each blocking call (a lambda) in a variable before
// they await it: g++ 12 miscompiles a lambda with captures written inside a co_await
// expression (it relocates the closure byte by byte, so a captured std::string or path
// later frees an address inside the coroutine frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/runtime/blocking_pool.hpp"
#include "tandem/detail/runtime/runtime_core.hpp"
#include "tandem/result_handle.hpp"
#include "tandem/spawn.hpp"
#include "tandem/spawn_blocking.hpp"
#include "tandem/sync/oneshot.hpp"

namespace tandem::detail {

// std::system_error(error, generic_category, "tandem::<operation>: <action> <path>").
[[noreturn]] void throw_file_error(int error,
                                   const char* operation,
                                   const char* action,
                                   const std::filesystem::path& path);

// An open descriptor, closed by the destructor (errors ignored) or by close(); it keeps
// its path for error messages.
class descriptor {
 public:
  static descriptor open(std::filesystem::path path, int flags, const char* operation);

  descriptor(descriptor&& other) noexcept;
  descriptor& operator=(descriptor&&) = delete;
  ~descriptor();

  // One read(2): 0 at end of file.
  std::size_t read_some(std::span<std::byte> into, const char* operation) const;
  // One write(2): how many bytes it took.
  std::size_t write_some(std::span<const std::byte> data, const char* operation) const;
  void write_all(std::span<const std::byte> data, const char* operation) const;
  std::uint64_t seek(std::int64_t offset, int whence, const char* operation) const;
  void sync(const char* operation) const;
  std::uint64_t size_in_bytes(const char* operation) const;
  void close(const char* operation);

 private:
  descriptor(int number, std::filesystem::path path) noexcept : number_(number), path_(std::move(path)) {}

  int number_;
  std::filesystem::path path_;
};

// What a tandem::fs::file shares with the blocking operations started on it: an
// operation abandoned by a cancelled task may outlive the file object, and must find the
// descriptor still open (not closed, nor reused for another file).
struct shared_file {
  explicit shared_file(descriptor opened) noexcept : file(std::move(opened)) {}

  descriptor file;
  // The bytes of the current read or write; operations on one file run one at a time.
  std::vector<std::byte> buffer;
};

// Runs `call` on the blocking pool of the caller's runtime and sends its outcome to
// `done`; throws std::logic_error outside a runtime or after its shutdown.
template <class Call>
void submit_blocking(const char* operation,
                     Call call,
                     oneshot_sender<outcome_of<std::invoke_result_t<Call&>>> done) {
  blocking_pool& pool = blocking_pool_of(require_current_runtime(operation));
  std::unique_ptr<blocking_job> job = std::make_unique<blocking_call<Call>>(std::move(call), std::move(done));
  if (!pool.submit(job))
    throw std::logic_error(std::string("tandem::") + operation + ": the runtime is shut down");
}

// spawn_blocking, with errors that name `operation`.
template <class Call>
auto on_blocking_pool(const char* operation, Call call) {
  using result = std::invoke_result_t<Call&>;
  auto [sender, receiver] = oneshot<outcome_of<result>>();
  submit_blocking(operation, std::move(call), std::move(sender));
  return make_result_handle<result>(std::move(receiver));
}

}  // namespace tandem::detail

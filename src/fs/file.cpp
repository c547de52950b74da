// tandem::fs::file (include/tandem/fs.hpp).
#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "fs/descriptor.hpp"
#include "tandem/fs.hpp"

namespace tandem::fs {

namespace {

// What one read or write moves at most (tokio's cap too): each is copied through the
// file's own buffer, which this bounds.
constexpr std::size_t max_transfer = std::size_t{2} << 20;

int open_flags(open_mode mode) {
  switch (mode) {
    case open_mode::read:
      return O_RDONLY;
    case open_mode::write:
      return O_WRONLY | O_CREAT | O_TRUNC;
    case open_mode::append:
      return O_WRONLY | O_CREAT | O_APPEND;
    case open_mode::read_write:
      return O_RDWR;
  }
  throw std::invalid_argument("tandem::fs::file::open: not an open_mode");
}

int seek_whence(seek_from whence) {
  switch (whence) {
    case seek_from::start:
      return SEEK_SET;
    case seek_from::current:
      return SEEK_CUR;
    case seek_from::end:
      return SEEK_END;
  }
  throw std::invalid_argument("tandem::fs::file::seek: not a seek_from");
}

// The opened file travels back owned, so that an open whose task was cancelled closes it.
auto opening(std::filesystem::path path, int flags, const char* operation) {
  return detail::on_blocking_pool(operation, [path = std::move(path), flags, operation] {
    return std::make_shared<detail::shared_file>(detail::descriptor::open(path, flags, operation));
  });
}

}  // namespace

// Marks the file busy for as long as one operation's frame lives, aborted or not.
class file::operation_guard {
 public:
  operation_guard(file& guarded, const char* operation) : file_(guarded) {
    if (!guarded.shared_)
      throw std::logic_error(std::string("tandem::") + operation + ": the file is closed (or moved from)");
    if (guarded.busy_)
      throw std::logic_error(
          std::string("tandem::") + operation +
          ": another operation on this file has not finished (await each before the next)");
    guarded.busy_ = true;
  }
  operation_guard(const operation_guard&) = delete;
  operation_guard& operator=(const operation_guard&) = delete;
  ~operation_guard() { file_.busy_ = false; }

 private:
  file& file_;
};

// The receiver stays in the file while it is awaited: if the awaiting task is cancelled,
// the next operation finds it here and waits for the call to finish.
template <class Call>
task<std::uint64_t> file::run_blocking(const char* operation, Call call) {
  auto [sender, receiver] = oneshot<outcome>();
  detail::submit_blocking(operation, std::move(call), std::move(sender));
  in_flight_.emplace(std::move(receiver));
  outcome finished = co_await *in_flight_;
  in_flight_.reset();
  co_return finished.unwrap();
}

task<void> file::wait_for_abandoned_operation() {
  if (!in_flight_) co_return;
  // Its result belonged to the cancelled task.
  (void)co_await *in_flight_;
  in_flight_.reset();
}

task<file> file::open(std::filesystem::path path, open_mode mode) {
  auto opened = opening(std::move(path), open_flags(mode), "fs::file::open");
  co_return file(co_await std::move(opened));
}

task<file> file::create(std::filesystem::path path) {
  auto opened = opening(std::move(path), open_flags(open_mode::write), "fs::file::create");
  co_return file(co_await std::move(opened));
}

file::file(std::shared_ptr<detail::shared_file> shared) noexcept : shared_(std::move(shared)) {}

file::file(file&& other) noexcept
    : shared_(std::move(other.shared_)),
      in_flight_(std::exchange(other.in_flight_, std::nullopt)),
      busy_(std::exchange(other.busy_, false)) {}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    shared_ = std::move(other.shared_);
    in_flight_ = std::exchange(other.in_flight_, std::nullopt);
    busy_ = std::exchange(other.busy_, false);
  }
  return *this;
}

file::~file() = default;

task<std::size_t> file::read(std::span<std::byte> buffer) {
  operation_guard guard(*this, "fs::file::read");
  co_await wait_for_abandoned_operation();
  const std::size_t wanted = std::min(buffer.size(), max_transfer);
  auto read_into_buffer = [shared = shared_, wanted] {
    shared->buffer.resize(wanted);
    return std::uint64_t{shared->file.read_some(shared->buffer, "fs::file::read")};
  };
  const std::uint64_t got = co_await run_blocking("fs::file::read", std::move(read_into_buffer));
  std::copy_n(shared_->buffer.begin(), got, buffer.begin());
  co_return got;
}

task<std::size_t> file::write(std::span<const std::byte> data) {
  operation_guard guard(*this, "fs::file::write");
  co_await wait_for_abandoned_operation();
  const auto chunk = data.first(std::min(data.size(), max_transfer));
  shared_->buffer.assign(chunk.begin(), chunk.end());
  auto write_from_buffer = [shared = shared_] {
    return std::uint64_t{shared->file.write_some(shared->buffer, "fs::file::write")};
  };
  co_return co_await run_blocking("fs::file::write", std::move(write_from_buffer));
}

task<void> file::write_all(std::span<const std::byte> data) {
  while (!data.empty()) data = data.subspan(co_await write(data));
}

task<std::uint64_t> file::seek(std::int64_t offset, seek_from whence) {
  operation_guard guard(*this, "fs::file::seek");
  co_await wait_for_abandoned_operation();
  auto move_position = [shared = shared_, offset, whence = seek_whence(whence)] {
    return shared->file.seek(offset, whence, "fs::file::seek");
  };
  co_return co_await run_blocking("fs::file::seek", std::move(move_position));
}

task<void> file::sync_all() {
  operation_guard guard(*this, "fs::file::sync_all");
  co_await wait_for_abandoned_operation();
  auto sync = [shared = shared_] {
    shared->file.sync("fs::file::sync_all");
    return std::uint64_t{0};
  };
  co_await run_blocking("fs::file::sync_all", std::move(sync));
}

task<void> file::close() {
  if (!shared_) co_return;
  operation_guard guard(*this, "fs::file::close");
  co_await wait_for_abandoned_operation();
  // The file counts as closed from here on, whatever close(2) reports.
  auto close_descriptor = [shared = std::move(shared_)] {
    shared->file.close("fs::file::close");
    return std::uint64_t{0};
  };
  co_await run_blocking("fs::file::close", std::move(close_descriptor));
}

}  // namespace tandem::fs

// The whole-file functions of tandem::fs (include/tandem/fs.hpp).
#include <cerrno>
#include <span>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/descriptor.hpp"
#include "tandem/fs.hpp"

namespace tandem::fs {

namespace {

// Bytes: std::string or std::vector<std::byte>.
template <class Bytes>
Bytes read_whole_file(const std::filesystem::path& path, const char* operation) {
  const detail::descriptor file = detail::descriptor::open(path, O_RDONLY, operation);
  // One byte more than the size, so that the read which finds the end of the file needs no
  // growing; files whose size says nothing (in /proc, FIFOs) grow as they are read.
  Bytes contents(file.size_in_bytes(operation) + 1, {});
  std::size_t filled = 0;
  for (;;) {
    if (filled == contents.size()) contents.resize(2 * contents.size());
    const std::size_t got =
        file.read_some(std::as_writable_bytes(std::span(contents)).subspan(filled), operation);
    if (got == 0) break;
    filled += got;
  }
  contents.resize(filled);
  return contents;
}

// The contents are owned here, not borrowed: a cancelled write still runs to its end.
task<void> write_owned(std::filesystem::path path, std::string contents) {
  auto write_whole = [path = std::move(path), contents = std::move(contents)] {
    detail::descriptor file = detail::descriptor::open(path, O_WRONLY | O_CREAT | O_TRUNC, "fs::write");
    file.write_all(std::as_bytes(std::span(contents)), "fs::write");
    // close(2) is where some file systems (NFS) report a failed write.
    file.close("fs::write");
  };
  co_await detail::on_blocking_pool("fs::write", std::move(write_whole));
}

}  // namespace

task<std::string> read_to_string(std::filesystem::path path) {
  auto read_whole = [path = std::move(path)] {
    return read_whole_file<std::string>(path, "fs::read_to_string");
  };
  co_return co_await detail::on_blocking_pool("fs::read_to_string", std::move(read_whole));
}

task<std::vector<std::byte>> read(std::filesystem::path path) {
  auto read_whole = [path = std::move(path)] {
    return read_whole_file<std::vector<std::byte>>(path, "fs::read");
  };
  co_return co_await detail::on_blocking_pool("fs::read", std::move(read_whole));
}

task<void> write(std::filesystem::path path, std::string_view contents) {
  return write_owned(std::move(path), std::string(contents));
}

task<void> write(std::filesystem::path path, std::span<const std::byte> contents) {
  const auto* first = reinterpret_cast<const char*>(contents.data());
  return write_owned(std::move(path), std::string(first, first + contents.size()));
}

task<void> remove_file(std::filesystem::path path) {
  auto unlink_file = [path = std::move(path)] {
    if (::unlink(path.c_str()) != 0)
      detail::throw_file_error(errno, "fs::remove_file", "cannot remove", path);
  };
  co_await detail::on_blocking_pool("fs::remove_file", std::move(unlink_file));
}

task<std::uintmax_t> file_size(std::filesystem::path path) {
  auto measure = [path = std::move(path)] {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0)
      detail::throw_file_error(errno, "fs::file_size", "cannot stat", path);
    if (S_ISDIR(status.st_mode)) detail::throw_file_error(EISDIR, "fs::file_size", "cannot size", path);
    return static_cast<std::uintmax_t>(status.st_size);
  };
  co_return co_await detail::on_blocking_pool("fs::file_size", std::move(measure));
}

}  // namespace tandem::fs

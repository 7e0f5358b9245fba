// MappedFile: a whole regular file mapped read-only into memory (POSIX mmap, PROT_READ, MAP_PRIVATE).
// Pages are read from disk on first touch, so opening a 10 GB checkpoint costs nothing until its
// weights are used, and the page cache is shared with other processes reading the same file.
// Refuses what is not a regular file (directories, FIFOs, devices) without blocking on it. An empty
// file maps to an empty span. The bytes stay valid while the MappedFile lives; if another process
// truncates the file meanwhile, touching the lost pages raises SIGBUS (no API can prevent that).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "internvl/core/error.hpp"

namespace internvl::io {

class MappedFile {
 public:
  explicit MappedFile(std::string path) : path_(std::move(path)) {
    struct stat info {};
    INTERNVL_CHECK(::stat(path_.c_str(), &info) == 0, path_, "cannot open file: ", std::strerror(errno));
    INTERNVL_CHECK(S_ISREG(info.st_mode), path_, "not a regular file");
    // O_NONBLOCK: should the path be swapped for a FIFO after the check above, open() still returns.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    INTERNVL_CHECK(fd >= 0, path_, "cannot open file: ", std::strerror(errno));
    const FileDescriptor guard{fd};
    INTERNVL_CHECK(::fstat(fd, &info) == 0 && S_ISREG(info.st_mode), path_, "not a regular file");
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ == 0) {
      return;  // mmap refuses length 0; an empty span describes the file exactly
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    INTERNVL_CHECK(p != MAP_FAILED, path_, "cannot map ", size_, " bytes: ", std::strerror(errno));
    data_ = static_cast<const std::byte*>(p);
  }

  MappedFile(MappedFile&& other) noexcept
      : path_(std::move(other.path_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      unmap();
      path_ = std::move(other.path_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { unmap(); }

  const std::string& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }

 private:
  struct FileDescriptor {  // the mapping outlives the descriptor, so it is closed right away
    int fd;
    ~FileDescriptor() { ::close(fd); }
  };

  void unmap() noexcept {
    if (data_ != nullptr) {
      ::munmap(const_cast<std::byte*>(data_), size_);
      data_ = nullptr;
    }
  }

  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace internvl::io

// write_file: a whole file written from byte ranges, checked once the bytes have left this process's
// buffers. An unchecked std::ofstream or stdio write reports success for a small file to a full disk or
// a device that refuses it (the bytes are still buffered when the checks run); here the stream is
// closed first, so every failure is an internvl::Error naming the file.
// check_can_create: whether write_file will be able to create the file, asked before a long computation
// whose result it is to hold, so that a mistyped directory fails at once and not at the end.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <span>
#include <string>

#include "internvl/core/error.hpp"

namespace internvl::io {

inline constexpr const char* kCannotCreate = "cannot create the file (does the directory exist, is it writable?)";

inline void write_file(const std::string& path, std::initializer_list<std::span<const std::byte>> parts) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  INTERNVL_CHECK(out.is_open(), path, kCannotCreate);
  for (const std::span<const std::byte> part : parts) {
    out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
  }
  out.close();
  INTERNVL_CHECK(!out.fail(), path, "writing the file failed (is the disk full?)");
}

// Opens the file for writing as write_file would, without truncating it: write_file's error if that
// fails. A file that already exists is left as it is; one that this check creates is removed again.
inline void check_can_create(const std::string& path) {
  std::error_code ignored;
  const bool existed = std::filesystem::exists(path, ignored);
  std::ofstream probe(path, std::ios::binary | std::ios::app);
  INTERNVL_CHECK(probe.is_open(), path, kCannotCreate);
  probe.close();
  if (!existed) {
    std::filesystem::remove(path, ignored);
  }
}

}  // namespace internvl::io

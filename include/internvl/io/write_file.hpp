// write_file: a whole file written from byte ranges, checked once the bytes have left this process's
// buffers. An unchecked std::ofstream or stdio write reports success for a small file to a full disk or
// a device that refuses it (the bytes are still buffered when the checks run); here the stream is
// closed first, so every failure is an internvl::Error naming the file.
#pragma once

#include <cstddef>
#include <fstream>
#include <initializer_list>
#include <span>
#include <string>

#include "internvl/core/error.hpp"

namespace internvl::io {

inline void write_file(const std::string& path, std::initializer_list<std::span<const std::byte>> parts) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  INTERNVL_CHECK(out.is_open(), path, "cannot create the file (does the directory exist, is it writable?)");
  for (const std::span<const std::byte> part : parts) {
    out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
  }
  out.close();
  INTERNVL_CHECK(!out.fail(), path, "writing the file failed (is the disk full?)");
}

}  // namespace internvl::io

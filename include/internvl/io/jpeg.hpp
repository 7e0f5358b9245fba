// JPEG decoding with libjpeg-turbo, set up the way Pillow sets it up for Image.open(path).convert('RGB'):
// the accurate integer IDCT (JDCT_ISLOW) and fancy chroma upsampling, YCbCr converted to RGB by libjpeg,
// grey replicated. CMYK and YCCK come out of libjpeg inverted, as Adobe writes them; Pillow reads them so
// ("CMYK;I") and its cmyk2rgb gives each of R, G, B as  k − muldiv255(255 − c, k)  from libjpeg's samples
// c (the channel's ink) and k, where muldiv255(a, b) is round(a · b / 255) computed as Pillow does;
// OpenCV's imdecode (Decoder::opencv) gives  k − ((255 − c) · k >> 8)  instead, up to 2 darker.
// The pixels are Pillow's, or OpenCV's, bit for bit (the decode fixtures of tests/golden/image).
// libjpeg reports errors by calling error_exit, which must not return: it longjmps back into the two
// steps below (read_header, read_pixels), which hold only trivially destructible objects, so no C++
// destructor is skipped. A file that ends before its image does is an error (libjpeg only warns and pads
// the image with grey; Pillow refuses it as truncated); other warnings (extraneous bytes before a marker,
// common in real files) are not.
#pragma once

// jpeglib.h needs FILE from <cstdio>, and jerror.h comes after it.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "internvl/core/error.hpp"
#include "internvl/io/decoder.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::io {

namespace detail {

struct JpegErrors {
  jpeg_error_mgr manager;  // first: libjpeg sees a pointer to it as the jpeg_error_mgr
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

inline void jpeg_error_exit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (level -1) and trace messages: silent, but a premature end of the file is remembered.
inline void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<JpegErrors*>(cinfo->err)->truncated = true;
  }
}

inline void jpeg_output_message(j_common_ptr) {}

// Reads the header and sets the output up as Pillow does; false on an error (errors.message says which).
inline bool jpeg_read_header_as_pillow(jpeg_decompress_struct& cinfo, JpegErrors& errors,
                                       std::span<const std::uint8_t> bytes) {
  if (setjmp(errors.jump) != 0) {
    return false;
  }
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    cinfo.out_color_space = JCS_CMYK;
  } else if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else {
    cinfo.out_color_space = JCS_RGB;
  }
  jpeg_calc_output_dimensions(&cinfo);
  return true;
}

// Decodes every scanline, row r of `channels` samples per pixel to rows + r · row_bytes; false on an error.
inline bool jpeg_read_pixels(jpeg_decompress_struct& cinfo, JpegErrors& errors, std::uint8_t* rows,
                             std::size_t row_bytes) {
  if (setjmp(errors.jump) != 0) {
    return false;
  }
  jpeg_start_decompress(&cinfo);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = rows + static_cast<std::size_t>(cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

// Pillow's MULDIV255: round(a · b / 255) for a, b in [0, 255].
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

}  // namespace detail

// Decodes a JPEG held in memory to RGB as `decoder` says; `name` (the file path) is used in errors.
inline Image decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                         Decoder decoder = Decoder::pillow) {
  static_assert(sizeof(unsigned long) >= sizeof(std::size_t), "jpeg_mem_src takes the size as unsigned long");
  jpeg_decompress_struct cinfo{};
  detail::JpegErrors errors{};
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = detail::jpeg_error_exit;
  errors.manager.emit_message = detail::jpeg_emit_message;
  errors.manager.output_message = detail::jpeg_output_message;
  jpeg_create_decompress(&cinfo);
  struct Destroy {
    jpeg_decompress_struct& cinfo;
    ~Destroy() { jpeg_destroy_decompress(&cinfo); }
  } destroy{cinfo};

  INTERNVL_CHECK(detail::jpeg_read_header_as_pillow(cinfo, errors, bytes), name, "cannot decode JPEG data (",
                 errors.message, ")");
  const ImageSize size{static_cast<index_t>(cinfo.output_width), static_cast<index_t>(cinfo.output_height)};
  INTERNVL_CHECK(size.width > 0 && size.height > 0, name, "image has zero size (", size, ")");
  check_decoded_size(size, name);
  const auto channels = static_cast<index_t>(cinfo.output_components);
  Image decoded = make_image(size, channels);
  INTERNVL_CHECK(
      detail::jpeg_read_pixels(cinfo, errors, decoded.data(), static_cast<std::size_t>(size.width * channels)), name,
      "cannot decode JPEG data (", errors.message, ")");
  INTERNVL_CHECK(!errors.truncated, name, "JPEG is truncated: the file ends before the image does");
  if (channels == 3) {
    return decoded;
  }
  Image image = make_image(size, 3);
  const std::uint8_t* in = decoded.data();
  std::uint8_t* out = image.data();
  for (index_t i = 0; i < size.width * size.height; ++i, in += channels, out += 3) {
    if (channels == 1) {
      out[0] = out[1] = out[2] = in[0];
    } else {  // CMYK as libjpeg gives it, i.e. inverted: k = 255 − K
      const int k = in[3];
      for (int c = 0; c < 3; ++c) {
        const int ink = 255 - in[c];
        out[c] = static_cast<std::uint8_t>(k - (decoder == Decoder::pillow ? detail::muldiv255(ink, k) : ink * k >> 8));
      }
    }
  }
  return image;
}

}  // namespace internvl::io

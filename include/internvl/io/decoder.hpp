// Whose decoding an image file's 8-bit RGB pixels follow. The two agree on most files, bit for bit: PNG of
// every colour type and depth (16-bit samples keep their high byte; Pillow alone turns 16-bit grey white,
// which neither decoder here follows), baseline and progressive JPEG in YCbCr or grey, binary PNM with
// maxval 255. They differ in three places:
//                         pillow: Image.open(f).convert('RGB')     opencv: cv2.imdecode(b, IMREAD_COLOR), as RGB
//   EXIF orientation      kept as stored                           turned (exif_orientation.hpp)
//   CMYK / YCCK JPEG      k − round(c'·k / 255)                    k − ⌊c'·k / 256⌋        (jpeg.hpp; c' = 255 − c)
//   binary PNM, maxval    samples scaled by 255/maxval             8-bit samples as stored, 16-bit ones' high
//   other than 255        (pnm.hpp)                                byte, neither scaled nor clamped (pnm.hpp)
// pillow is the default and what the classification, zero-shot, embedding and captioning inputs use (the
// official code reads images with Pillow); opencv is the segmentation input's (MMSegmentation's
// LoadImageFromFile: mmcv.imfrombytes, flag 'color', cv2 backend), read as OpenCV 4.14 reads it.
#pragma once

namespace internvl::io {

enum class Decoder { pillow, opencv };

}  // namespace internvl::io

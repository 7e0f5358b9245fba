// Image decoding against Pillow's Image.open(path).convert('RGB') on every PNG / PNM / JPEG flavour make.py
// writes, the errors for broken files, and PNG writing, RGB, grey and palette (round trips through the decoder);
// label masks (read_label_mask): 8-bit grey PNGs read as their values, 8-bit palette PNGs as their indices,
// every other kind refused by name; io::Decoder::opencv against OpenCV's imdecode (tests/golden/image/opencv):
// EXIF orientation, and every decode fixture.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "internvl/io/image.hpp"
#include "internvl/io/label_mask.hpp"
#include "internvl/io/palette_png.hpp"
#include "internvl/io/png_chunks.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "internvl/io/write_file.hpp"
#include "pixel_fixtures.hpp"

using namespace internvl;
using testing::image_fixture;
using testing::image_manifest;

TEST_CASE("decoded pixels match Pillow's convert('RGB')", "[image]") {
  // PNG, PNM and JPEG (baseline 4:2:0 and 4:4:4, progressive, grey, CMYK): every value identical.
  for (const auto& c : image_manifest()["decode"]) {
    const std::string file = c["file"];
    INFO(file << " (" << c["note"].get<std::string>() << ")");
    const io::Image image = io::read_image(image_fixture(file));
    REQUIRE(image.size(2) == 3);
    const testing::PixelDiff diff = testing::compare_pixels(image, {{"file", c["expected"]}});
    REQUIRE(diff.same_shape);
    REQUIRE(diff.max == 0);
  }
}

TEST_CASE("16-bit grey PNG keeps the high byte (Pillow would clamp it to white)", "[image]") {
  const auto& c = image_manifest()["grey16"];
  const io::Image image = io::read_image(image_fixture(c["file"]));
  const io::NpyArray high = testing::read_u8(c["high_byte"]);
  REQUIRE(image.size(0) == high.shape[0]);
  REQUIRE(image.size(1) == high.shape[1]);
  for (index_t y = 0; y < image.size(0); ++y) {
    for (index_t x = 0; x < image.size(1); ++x) {
      const auto v = static_cast<std::uint8_t>(high.bytes[static_cast<std::size_t>(y * image.size(1) + x)]);
      for (index_t ch = 0; ch < 3; ++ch) REQUIRE(image(y, x, ch) == v);
    }
  }
}

TEST_CASE("decoding from memory names the source", "[image]") {
  std::ifstream in(image_fixture("rgb.ppm"), std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const io::Image image = io::decode_image(bytes, "memory:rgb.ppm");
  REQUIRE(image.shape() == Extents<3>{23, 37, 3});
  REQUIRE(io::sniff_image_format(bytes) == io::ImageFormat::pnm);
  const std::vector<std::uint8_t> junk = {1, 2, 3};
  REQUIRE_THROWS_WITH(io::decode_image(junk, "memory:junk"), Catch::Contains("memory:junk") && Catch::Contains("not an image"));
}

TEST_CASE("Decoder::opencv turns the pixels as OpenCV's IMREAD_COLOR does; by default they stay as stored",
          "[image][exif]") {
  // tests/golden/image/opencv (make.py): orientations 1..8 in JPEG, big-endian TIFF, XMP before the EXIF,
  // an out-of-range value, an IFD cut short after the orientation entry, a second Exif segment, stray bytes,
  // an odd byte order mark, PNG eXIf chunks, string and rational entries whose data lies outside the EXIF.
  std::ifstream in(image_fixture("opencv/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  REQUIRE(manifest["cases"].size() == 24);
  for (const auto& c : manifest["cases"]) {
    const std::string file = "opencv/" + c["file"].get<std::string>();
    INFO(file);
    const testing::PixelDiff turned = testing::compare_pixels(io::read_image(image_fixture(file), io::Decoder::opencv),
                                                              {{"file", "opencv/" + c["turned"].get<std::string>()}});
    REQUIRE(turned.same_shape);
    REQUIRE(turned.max == 0);
    const testing::PixelDiff stored = testing::compare_pixels(io::read_image(image_fixture(file)),
                                                              {{"file", "opencv/" + c["stored"].get<std::string>()}});
    REQUIRE(stored.same_shape);
    REQUIRE(stored.max == 0);
  }
  // The segmentation input is read turned: orientation 6 makes the 7 x 4 image 4 wide and 7 high, so the
  // shorter side (4 -> 504) is the width.
  const Tensor<float, 4> input = io::load_segmentation_input(image_fixture("opencv/orientation6.jpg"));
  REQUIRE(input.shape() == Extents<4>{1, 3, 882, 504});
  REQUIRE_THROWS_WITH(io::apply_exif_orientation(io::read_image(image_fixture("opencv/orientation1.jpg")).view(), 9),
                      Catch::Contains("EXIF orientation must be 1..8, got 9"));
}

TEST_CASE("Decoder::opencv decodes every decode fixture as OpenCV's IMREAD_COLOR does", "[image][opencv]") {
  // tests/golden/image/opencv/decode (make.py, OpenCV 4.14): the shared decode fixtures. Pillow's pixels
  // differ on five of them (decoder.hpp): CMYK JPEG (rounding), PNM with maxval 6, 1000 and 65535 (not
  // scaled), and the 16-bit grey PNG (Pillow clamps to white; both decoders here keep the high byte).
  std::ifstream in(image_fixture("opencv/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  REQUIRE(manifest["decode"].size() == image_manifest()["decode"].size() + 1);
  int differing = 0;
  for (const auto& c : manifest["decode"]) {
    const std::string file = c["file"].get<std::string>();
    INFO(file);
    const testing::PixelDiff opencv = testing::compare_pixels(io::read_image(image_fixture(file), io::Decoder::opencv),
                                                              {{"file", "opencv/" + c["opencv"].get<std::string>()}});
    REQUIRE(opencv.same_shape);
    REQUIRE(opencv.max == 0);
    differing += c["differs_from_pillow"].get<bool>() ? 1 : 0;
  }
  REQUIRE(differing == 5);
}

TEST_CASE("broken and missing files are errors that name the file and the problem", "[image]") {
  using Catch::Contains;
  const auto expect = [](const std::string& file, const std::string& what) {
    const std::string path = image_fixture(file);
    REQUIRE_THROWS_WITH(io::read_image(path), Contains(path) && Contains(what));
  };
  expect("does_not_exist.png", "no such file");
  expect("bad_empty.png", "file is empty (0 bytes)");
  expect("bad_text.png", "not an image");
  expect("bad_truncated.png", "PNG is truncated");
  expect("bad_truncated.jpg", "cannot decode JPEG data (Invalid JPEG file structure: missing SOS marker)");
  expect("bad_truncated_scan.jpg", "JPEG is truncated: the file ends before the image does");
  expect("bad_fuzz_huffman.jpg", "cannot decode JPEG data (Huffman table 0x00 was not defined)");
  expect("bad_ascii.ppm", "PNM variant P3 is not supported");
  expect("bad_zero.pgm", "zero size (0x5)");
  expect("bad_truncated.ppm", "truncated PNM raster");
  expect("bad_maxval.pgm", "maxval must be in 1..65535, found 70000");
  // Headers that declare more pixels than Pillow decodes, refused before decoding (each file holds at most
  // one row of pixels: decoded, they would fail as truncated instead).
  expect("bad_bomb.png", "20000x10000 = 200000000 pixels is larger than the 178956970");
  expect("bad_bomb.jpg", "15000x15000 = 225000000 pixels is larger than the 178956970");
  expect("bad_bomb.ppm", "20000x10000 = 200000000 pixels is larger than the 178956970");
  const std::string dir = testing::golden_path("image");
  REQUIRE_THROWS_WITH(io::read_image(dir), Contains(dir) && Contains("is a directory"));
}

TEST_CASE("image files may decode to at most Pillow's 178956970 pixels", "[image]") {
  REQUIRE_NOTHROW(io::check_decoded_size({io::kMaxDecodedPixels, 1}, "limit.png"));
  REQUIRE_NOTHROW(io::check_decoded_size({16384, 10922}, "limit.png"));
  REQUIRE_THROWS_WITH(io::check_decoded_size({io::kMaxDecodedPixels + 1, 1}, "over.png"),
                      Catch::Contains("over.png") && Catch::Contains("decompression bomb"));
  REQUIRE_THROWS_WITH(io::check_decoded_size({13378, 13378}, "over.png"), Catch::Contains("13378x13378"));
}

TEST_CASE("png_crc is the CRC-32 of zlib and the PNG spec", "[image]") {
  const auto crc = [](std::string_view text) {
    return io::png_crc(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };
  REQUIRE(crc("123456789") == 0xCBF43926u);  // the check value of CRC-32/ISO-HDLC
  REQUIRE(crc("IEND") == 0xAE426082u);       // the CRC every PNG's IEND chunk ends with
  REQUIRE(crc("") == 0u);
}

TEST_CASE("a PNG chunk that fails its CRC or runs past the end of the file is refused by name", "[image]") {
  std::ifstream in(image_fixture("rgb8.png"), std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // rgb8.png: IHDR at offset 8 (13 bytes), IDAT at offset 33 (867 bytes), IEND at offset 912.
  REQUIRE(io::decode_image(bytes, "intact").shape() == Extents<3>{23, 37, 3});
  const auto refused = [](const std::vector<std::uint8_t>& broken) {
    try {
      io::decode_image(broken, "memory:rgb8.png");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("decoded");
  };
  for (const std::size_t offset : {std::size_t{33 + 8 + 400}, std::size_t{33 + 8 + 866}, std::size_t{8 + 8 + 12}}) {
    std::vector<std::uint8_t> broken = bytes;
    broken[offset] ^= 0x10;  // a bit of the image data, the last byte of the data (Adler-32), the IHDR CRC
    INFO(offset);
    REQUIRE_THAT(refused(broken), Catch::Contains("memory:rgb8.png") && Catch::Contains("PNG is corrupt: chunk '") &&
                                      Catch::Contains("fails its CRC check"));
  }
  std::vector<std::uint8_t> broken = bytes;
  broken[33 + 8] ^= 0x01;
  REQUIRE_THAT(refused(broken), Catch::Contains("chunk 'IDAT' at offset 33 fails its CRC check"));
  broken = bytes;
  broken[33 + 2] = 0x10;  // IDAT's length: 0x1063 bytes instead of 0x363
  REQUIRE_THAT(refused(broken), Catch::Contains("PNG is truncated: chunk 'IDAT' at offset 33 holds 4195 bytes, the file has 879 left"));
  broken = bytes;
  broken[33 + 4] = 0xff;  // IDAT's type, a byte no type has: shown escaped, the message not cut at a NUL
  broken[33 + 5] = 0x00;
  REQUIRE_THAT(refused(broken),
               Catch::Contains("PNG is corrupt: chunk '\\xff\\x00AT' at offset 33 fails its CRC check"));
  broken = std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 33 + 6);
  REQUIRE_THAT(refused(broken), Catch::Contains("PNG is truncated: 6 bytes at offset 33 are too few for a chunk"));
  broken = bytes;  // bytes after IEND are not read
  broken.insert(broken.end(), {1, 2, 3});
  REQUIRE(io::decode_image(broken, "trailing bytes").shape() == Extents<3>{23, 37, 3});
}

TEST_CASE("corrupted and truncated files are decoded or refused, never a crash", "[image]") {
  std::mt19937 gen(7);
  for (const char* file : {"rgb8.png", "palette.png", "interlaced.png", "rgb16.png", "q90_420.jpg",
                           "progressive.jpg", "grey.jpg", "rgb.ppm", "rgb_max1000.ppm"}) {
    std::ifstream in(image_fixture(file), std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    int refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<std::uint8_t> broken = bytes;
      for (unsigned flips = 1 + gen() % 8; flips > 0; --flips) {
        broken[gen() % broken.size()] = static_cast<std::uint8_t>(gen());
      }
      if (trial % 5 == 0) broken.resize(gen() % broken.size() + 1);
      try {
        const io::Image image = io::decode_image(broken, "fuzzed");
        REQUIRE(image.size(2) == 3);
      } catch (const Error& e) {
        REQUIRE_THAT(e.what(), Catch::Contains("fuzzed"));
        ++refused;
      }
    }
    INFO(file);
    REQUIRE(refused > 0);
  }
}

TEST_CASE("write_png round-trips RGB, grey and strided views", "[image]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path();
  const io::Image source = io::read_image(image_fixture("rgb8.png"));

  const std::string rgb_path = (dir / "internvl_test_rgb.png").string();
  io::write_png(rgb_path, source.view());
  const io::Image rgb = io::read_image(rgb_path);
  REQUIRE(testing::compare_pixels(rgb, {{"file", "rgb8_png.npy"}}).max == 0);

  // A crop (strided view) of one channel, written as grey and read back replicated to RGB.
  const CView<std::uint8_t, 3> green = source.view().slice(2, 1, 2).slice(0, 3, 20).slice(1, 5, 30);
  const std::string grey_path = (dir / "internvl_test_grey.png").string();
  io::write_png(grey_path, green);
  const io::Image grey = io::read_image(grey_path);
  REQUIRE(grey.shape() == Extents<3>{17, 25, 3});
  for (index_t y = 0; y < 17; ++y) {
    for (index_t x = 0; x < 25; ++x) {
      for (index_t c = 0; c < 3; ++c) REQUIRE(grey(y, x, c) == source(y + 3, x + 5, 1));
    }
  }
  fs::remove(rgb_path);
  fs::remove(grey_path);

  REQUIRE_THROWS_WITH(io::write_png((dir / "no_such_dir" / "x.png").string(), source.view()),
                      Catch::Contains("no_such_dir") && Catch::Contains("cannot create the file"));
  if (fs::exists("/dev/full")) {  // refuses every write: a small PNG must not be reported as written
    REQUIRE_THROWS_WITH(io::write_png("/dev/full", source.view()), Catch::Contains("writing the file failed"));
  }
  REQUIRE_THROWS_WITH(io::write_png((dir / "two.png").string(), source.view().slice(2, 0, 2)),
                      Catch::Contains("1 (grey) or 3 (RGB) channels, got 2"));
}

TEST_CASE("PNG writers refuse images whose scanlines stb_image_write cannot hold, before copying them", "[image]") {
  // One pixel repeated (zero strides): a view of 32768 x 32768 takes no memory, its scanlines 1 GiB + 32 KiB.
  const std::uint8_t pixel = 7;
  const CView<std::uint8_t, 3> huge(&pixel, Extents<3>{32768, 32768, 1}, Extents<3>{0, 0, 0});
  const std::string path = (std::filesystem::temp_directory_path() / "internvl_test_huge.png").string();
  const std::string message = path + ": cannot write a PNG of 32768x32768 pixels and 1 channels";
  REQUIRE_THROWS_WITH(io::write_png(path, huge), Catch::Contains(message));
  const io::PaletteColour colours[] = {{0, 0, 0}};
  REQUIRE_THROWS_WITH(io::write_palette_png(path, huge, colours), Catch::Contains(message));
  REQUIRE_FALSE(std::filesystem::exists(path));
  REQUIRE_NOTHROW(io::check_png_size(path, 16384, 16384, 3));  // 0.8 GiB
}

TEST_CASE("write_palette_png stores indices with a PLTE chunk; decoders expand them to the palette", "[image]") {
  namespace fs = std::filesystem;
  const std::string path = (fs::temp_directory_path() / "internvl_test_palette.png").string();
  const std::vector<io::PaletteColour> palette = {{0, 0, 0}, {255, 0, 0}, {10, 200, 30}};
  io::Image mask = io::make_image({29, 13}, 1);  // width 29, height 13, indices in a diagonal pattern
  for (index_t y = 0; y < 13; ++y) {
    for (index_t x = 0; x < 29; ++x) mask(y, x, 0) = static_cast<std::uint8_t>((x + 2 * y) % 3);
  }
  io::write_palette_png(path, mask.view(), palette);

  const io::Image rgb = io::read_image(path);  // stb_image expands the palette
  REQUIRE(rgb.shape() == Extents<3>{13, 29, 3});
  for (index_t y = 0; y < 13; ++y) {
    for (index_t x = 0; x < 29; ++x) {
      for (index_t c = 0; c < 3; ++c) REQUIRE(rgb(y, x, c) == palette[mask(y, x, 0)][static_cast<std::size_t>(c)]);
    }
  }
  // The chunks: IHDR with bit depth 8 and colour type 3, then PLTE with the three colours.
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  REQUIRE(bytes.size() > 33 + 12 + 9);
  CHECK(std::string(bytes.begin() + 12, bytes.begin() + 16) == "IHDR");
  CHECK(int{bytes[24]} == 8);
  CHECK(int{bytes[25]} == 3);
  CHECK(std::string(bytes.begin() + 37, bytes.begin() + 41) == "PLTE");
  CHECK(int{bytes[36]} == 9);  // chunk length (big-endian, low byte)
  CHECK(std::vector<int>(bytes.begin() + 41, bytes.begin() + 50) == std::vector<int>{0, 0, 0, 255, 0, 0, 10, 200, 30});
  fs::remove(path);

  mask(5, 7, 0) = 3;
  REQUIRE_THROWS_WITH(io::write_palette_png(path, mask.view(), palette),
                      Catch::Contains("class index 3 has no colour in a palette of 3"));
  REQUIRE_THROWS_WITH(io::write_palette_png(path, mask.view(), std::span<const io::PaletteColour>()),
                      Catch::Contains("1 to 256 colours, got 0"));
  const io::Image rgb_mask = io::make_image({4, 4}, 3);
  REQUIRE_THROWS_WITH(io::write_palette_png(path, rgb_mask.view(), palette), Catch::Contains("got 3 channels"));
  mask(5, 7, 0) = 0;
  REQUIRE_THROWS_WITH(
      io::write_palette_png((fs::temp_directory_path() / "no_such_dir" / "m.png").string(), mask.view(), palette),
      Catch::Contains("no_such_dir") && Catch::Contains("cannot create the file"));
  if (fs::exists("/dev/full")) {
    REQUIRE_THROWS_WITH(io::write_palette_png("/dev/full", mask.view(), palette),
                        Catch::Contains("writing the file failed"));
  }
}

TEST_CASE("check_can_create fails as writing would, and leaves the directory as it was", "[image]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path();
  const fs::path fresh = dir / "internvl_test_check_fresh.npy";
  fs::remove(fresh);
  io::check_can_create(fresh.string());
  REQUIRE_FALSE(fs::exists(fresh));  // a file the check created is removed again

  const fs::path existing = dir / "internvl_test_check_existing.txt";
  std::ofstream(existing) << "kept";
  io::check_can_create(existing.string());
  std::string content;
  std::ifstream(existing) >> content;
  REQUIRE(content == "kept");  // an existing file is neither truncated nor removed
  fs::remove(existing);

  REQUIRE_THROWS_WITH(io::check_can_create((dir / "no_such_dir" / "x.npy").string()),
                      Catch::Contains("no_such_dir") && Catch::Contains("cannot create the file"));
  REQUIRE_THROWS_WITH(io::check_can_create(dir.string()), Catch::Contains("cannot create the file"));
}

TEST_CASE("read_label_mask reads an 8-bit grey PNG's values and refuses every other kind of image", "[image]") {
  // The grey values are what Pillow's convert('RGB') puts in each channel (checked above).
  const io::Image rgb = io::read_image(image_fixture("grey8.png"));
  const Tensor<std::uint8_t, 2> labels = io::read_label_mask(image_fixture("grey8.png"));
  REQUIRE((labels.size(0) == rgb.size(0) && labels.size(1) == rgb.size(1)));
  for (index_t i = 0; i < labels.numel(); ++i) {
    REQUIRE(labels.data()[i] == rgb.data()[3 * i]);
  }
  for (const auto& [file, kind] :
       {std::pair{"rgb8.png", "colour type 2"}, std::pair{"grey_alpha8.png", "colour type 4"},
        std::pair{"grey16.png",
                  "colour type 0 (0 grey, 2 RGB, 3 palette, 4 grey + alpha, "
                  "6 RGBA) and 16-bit samples"},
        std::pair{"bilevel1.png", "and 1-bit samples"},
        std::pair{"palette4.png",
                  "colour type 3 (0 grey, 2 RGB, 3 palette, 4 grey + "
                  "alpha, 6 RGBA) and 4-bit samples"}}) {
    INFO(file);
    CHECK_THROWS_WITH(
        io::read_label_mask(image_fixture(file)),
        Catch::Contains("a label mask must be an 8-bit greyscale or palette PNG") && Catch::Contains(kind));
  }
  CHECK_THROWS_WITH(io::read_label_mask(image_fixture("grey.jpg")), Catch::Contains("a label mask must be a PNG file"));
  CHECK_THROWS_WITH(io::read_label_mask(image_fixture("bad_truncated.png")), Catch::Contains("bad_truncated.png"));
  CHECK_THROWS_WITH(io::read_label_mask("/nonexistent/mask.png"), Catch::Contains("no such file"));
}

TEST_CASE("read_label_mask reads an 8-bit palette PNG's indices, as numpy reads Pillow's mode P", "[image]") {
  // Pillow's quantize of a 37 x 23 image to 37 colours, with and without a tRNS chunk (make.py).
  for (const char* file : {"palette.png", "palette_trns.png"}) {
    INFO(file);
    const Tensor<std::uint8_t, 2> labels = io::read_label_mask(image_fixture(file));
    const testing::PixelDiff diff = testing::compare_pixels(
        labels.data(), {labels.size(0), labels.size(1)},
        {{"file", std::string(file).replace(std::string(file).find('.'), 1, "_") + "_indices.npy"}});
    REQUIRE(diff.same_shape);
    REQUIRE(diff.max == 0);
  }
  // The masks segment writes (write_palette_png) read back as their class indices.
  namespace fs = std::filesystem;
  const std::string path = (fs::temp_directory_path() / "internvl_test_palette_mask.png").string();
  io::Image mask(Extents<3>{3, 5, 1});
  for (index_t i = 0; i < mask.numel(); ++i) mask.data()[i] = static_cast<std::uint8_t>(i % 4);
  io::write_palette_png(path, mask.view(), std::vector<io::PaletteColour>{{0, 0, 0}, {9, 9, 9}, {1, 2, 3}, {7, 7, 7}});
  const Tensor<std::uint8_t, 2> labels = io::read_label_mask(path);
  fs::remove(path);
  REQUIRE((labels.size(0) == 3 && labels.size(1) == 5));
  for (index_t i = 0; i < labels.numel(); ++i) REQUIRE(labels.data()[i] == i % 4);
  // A chunk's CRC is still checked (here PLTE's, a chunk the grey decoding leaves out).
  std::ifstream in(image_fixture("palette.png"), std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  bytes[33 + 8] ^= 1;  // the first palette byte: PLTE follows the 33 bytes of signature and IHDR
  REQUIRE(std::string(bytes.begin() + 37, bytes.begin() + 41) == "PLTE");
  REQUIRE_THROWS_WITH(io::decode_label_mask(bytes, "flipped.png"),
                      Catch::Contains("flipped.png") && Catch::Contains("chunk 'PLTE'") && Catch::Contains("CRC"));
  // An empty IHDR followed by a chunk whose type bytes sit where the bit depth and colour type belong
  // (8, 3: palette), every CRC right: refused, where the grey rewrite used to write past IHDR's bytes.
  std::vector<std::uint8_t> forged(bytes.begin(), bytes.begin() + 8);
  const auto add_chunk = [&](std::vector<std::uint8_t> type) {
    forged.insert(forged.end(), {0, 0, 0, 0});
    forged.insert(forged.end(), type.begin(), type.end());
    const std::uint32_t crc = io::png_crc(type);
    for (const int shift : {24, 16, 8, 0}) forged.push_back(static_cast<std::uint8_t>(crc >> shift));
  };
  add_chunk({'I', 'H', 'D', 'R'});
  add_chunk({8, 3, 'a', 'a'});
  add_chunk({'I', 'E', 'N', 'D'});
  REQUIRE(forged.size() == 44);
  REQUIRE_THROWS_WITH(io::decode_label_mask(forged, "forged.png"),
                      Catch::Contains("forged.png") && Catch::Contains("does not start with a 13-byte IHDR chunk"));
}

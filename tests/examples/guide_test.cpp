// docs/guide.md: every ```cpp block in the guide is quoted word for word from a region of
// examples/kitchen/kitchen.hpp between `// [guide:<name>]` and `// [end guide:<name>]`, so every line of
// code the guide shows is compiled, run and tested here. A region is compared without the indentation of
// its markers, and every region must be quoted somewhere, so no marker outlives the text that used it.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

// tests/examples/guide_test.cpp -> the repository root.
const std::filesystem::path repository_root =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trimmed(const std::string& line) {
  const std::size_t first = line.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : line.substr(first);
}

struct code_block {
  std::size_t line = 0;  // of the opening fence, counting from 1
  std::string text;
};

std::vector<code_block> cpp_blocks(const std::vector<std::string>& lines) {
  std::vector<code_block> blocks;
  bool inside = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!inside && lines[i] == "```cpp") {
      inside = true;
      blocks.push_back({i + 1, ""});
    } else if (inside && lines[i] == "```") {
      inside = false;
    } else if (inside) {
      blocks.back().text += lines[i] + '\n';
    }
  }
  EXPECT_FALSE(inside) << "the block opened on line " << blocks.back().line
                       << " of docs/guide.md never closes";
  return blocks;
}

// The marked regions by name, each without its markers' indentation.
std::map<std::string, std::string> guide_regions(const std::vector<std::string>& lines) {
  std::map<std::string, std::string> regions;
  std::string open;
  std::size_t indent = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trimmed(lines[i]);
    const bool starts = line.starts_with("// [guide:") && line.ends_with("]");
    const bool ends = line.starts_with("// [end guide:") && line.ends_with("]");
    if (starts) {
      EXPECT_TRUE(open.empty()) << "line " << i + 1 << ": region '" << open << "' is still open";
      open = line.substr(10, line.size() - 11);
      indent = lines[i].size() - line.size();
      EXPECT_FALSE(regions.contains(open)) << "line " << i + 1 << ": region '" << open << "' is marked twice";
      regions[open];
    } else if (ends) {
      const std::string name = line.substr(14, line.size() - 15);
      EXPECT_EQ(name, open) << "line " << i + 1 << ": end of a region that is not open";
      open.clear();
    } else if (!open.empty()) {
      EXPECT_TRUE(line.empty() || lines[i].compare(0, indent, std::string(indent, ' ')) == 0)
          << "line " << i + 1 << " is indented less than the markers of region '" << open << "'";
      regions[open] += (line.empty() ? std::string() : lines[i].substr(indent)) + '\n';
    }
  }
  EXPECT_TRUE(open.empty()) << "region '" << open << "' never ends";
  return regions;
}

TEST(Guide, EveryCodeBlockIsQuotedFromTheKitchen) {
  const std::vector<code_block> blocks = cpp_blocks(read_lines(repository_root / "docs" / "guide.md"));
  const std::map<std::string, std::string> regions =
      guide_regions(read_lines(repository_root / "examples" / "kitchen" / "kitchen.hpp"));
  ASSERT_FALSE(blocks.empty()) << "docs/guide.md has no ```cpp block";
  ASSERT_FALSE(regions.empty()) << "examples/kitchen/kitchen.hpp marks no region";

  std::map<std::string, bool> quoted;
  for (const auto& [name, text] : regions) quoted[name] = false;
  for (const code_block& block : blocks) {
    bool found = false;
    for (const auto& [name, text] : regions) {
      if (text.find(block.text) != std::string::npos) {
        quoted[name] = true;
        found = true;
      }
    }
    EXPECT_TRUE(found) << "the ```cpp block on line " << block.line
                       << " of docs/guide.md is in no [guide:...] region of examples/kitchen/kitchen.hpp:\n"
                       << block.text;
  }
  for (const auto& [name, used] : quoted) {
    EXPECT_TRUE(used) << "region [guide:" << name << "] of examples/kitchen/kitchen.hpp is quoted nowhere in "
                      << "docs/guide.md";
  }
}

}  // namespace

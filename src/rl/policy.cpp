#include "rl/policy.h"

#include <filesystem>
#include <stdexcept>

#include "model/chat_template.h"
#include "model/peft.h"

namespace svln::rl {

void attachTokenizer(Policy& p) {
  p.model->setPlaceholderIds(p.tokenizer->requireTokenId(model::kImageToken),
                             p.tokenizer->requireTokenId(model::kMemoryToken));
  p.codec = std::make_unique<model::ActionCodec>(*p.tokenizer);
}

Policy loadPolicy(const std::string& model_dir, const std::string& adapter_dir,
                  const model::LoadOptions& options) {
  if (!std::filesystem::is_directory(model_dir)) {
    throw std::runtime_error(model_dir + ": model directory not found");
  }
  Policy p;
  p.tokenizer = std::make_unique<model::Tokenizer>(model::Tokenizer::fromFile(model_dir));
  p.model = std::make_unique<model::StreamVLN>(model::StreamVLN::load(model_dir, options));
  if (!adapter_dir.empty()) model::loadLoraAdapter(p.model->root(), adapter_dir);
  attachTokenizer(p);
  p.model->root().eval();
  return p;
}

}  // namespace svln::rl

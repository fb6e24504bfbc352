"""The training chat template shipped with the ``messages`` export, for assistant-only loss in TRL.

TRL's ``SFTTrainer(assistant_only_loss=True)`` supervises the tokens that ``tokenizer.apply_chat_template(...,
return_assistant_tokens_mask=True)`` marks, i.e. what the chat template renders between ``{% generation %}`` and
``{% endgeneration %}``. The default model's template (SmolLM2-135M-Instruct, ChatML with a default system prompt)
has no such markers, so TRL refuses it. :data:`TRAINING_CHAT_TEMPLATE` renders every conversation to the same text
as the default model's own template and marks each assistant turn's content, its ``<|im_end|>`` and the newline
after it — the characters biohub's own trainer supervises (``biohub.training.tokenize.assistant_spans``: what an
assistant turn adds after the ``<|im_start|>assistant`` header). Both equalities are tested on the default tokenizer.
"""

from __future__ import annotations

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# sha256 of the default model's own template (the GGUF's tokenizer.chat_template) that TRAINING_CHAT_TEMPLATE follows;
# tests check the installed model still has it, and that both render every conversation to the same text.
DEFAULT_MODEL_CHAT_TEMPLATE_SHA256 = "872be49dbb638044ad01b60388f48d469ff2980e5f0dccdc22ec907db54d0788"

TRAINING_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + DEFAULT_SYSTEM + "<|im_end|>\n' }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' + '\n' }}{% endgeneration %}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TRAINING_CHAT_TEMPLATE_FILE = "chat_template.jinja"

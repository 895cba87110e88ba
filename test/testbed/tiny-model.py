#!/usr/bin/env python3
"""A tiny real model for the test bed, made on the spot with no download.

    python tiny-model.py OUTDIR

writes three folders into OUTDIR (a few MB in all):

  tiny-llama/        a Llama-shaped decoder (LlamaForCausalLM): hidden 128, intermediate 256, 2 layers,
                     4 heads, 2 KV heads, head_dim 32 (vLLM's CPU attention needs >= 32), vocab 2048,
                     tied embeddings, bf16 random weights (fixed seed) in model.safetensors; a byte-level
                     BPE tokenizer trained here on the interpreter's own stdlib sources; a ChatML chat
                     template (tokenizer_config.json and chat_template.jinja).
  tiny-llama-lora/   a LoRA adapter for it (PEFT layout: adapter_config.json + adapter_model.safetensors,
                     rank 8 on q_proj and v_proj).
  tiny-llama-draft/  a 1-layer draft model with the same tokenizer (for speculative decoding).

Needs only the `tokenizers` package (in the vLLM image); the weights and safetensors files are written
by hand (bf16 = the upper half of a float32), so no torch, numpy or transformers. The same interpreter
gives the same bytes. The last line on stdout is a JSON summary.
"""
import array
import json
import os
import random
import struct
import sys
import sysconfig

SEED = 1234
VOCAB = 2048
HIDDEN = 128
INTERMEDIATE = 256
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 32
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def bf16(values):
    """float list -> little-endian bf16 bytes (round to nearest even)."""
    bits = array.array("I", array.array("f", values).tobytes())
    out = array.array("H", bytes(2 * len(bits)))
    for i, b in enumerate(bits):
        out[i] = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, shape, raw bf16 bytes), written in name order."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, shape, data in sorted(tensors):
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, data in sorted(tensors):
            f.write(data)


def rand(rng, shape, std=0.02):
    n = 1
    for d in shape:
        n *= d
    return bf16([rng.gauss(0.0, std) for _ in range(n)])


def ones(n):
    return bf16([1.0] * n)


def train_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in os.listdir(stdlib) if f.endswith(".py"))
    texts, total = [], 0
    for f in files:
        with open(os.path.join(stdlib, f), encoding="utf-8", errors="replace") as fh:
            t = fh.read()
        texts.append(t)
        total += len(t)
        if total > 3_000_000:
            break
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def write_tokenizer(tok, out):
    tok.save(os.path.join(out, "tokenizer.json"))
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 2048,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
            for s, i in ids.items()
        },
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}, f, indent=2)
    with open(os.path.join(out, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)
    return ids


def write_model(out, tok, layers, seed):
    os.makedirs(out, exist_ok=True)
    ids = write_tokenizer(tok, out)
    rng = random.Random(seed)
    t = [("model.embed_tokens.weight", (VOCAB, HIDDEN), rand(rng, (VOCAB, HIDDEN))), ("model.norm.weight", (HIDDEN,), ones(HIDDEN))]
    for i in range(layers):
        p = f"model.layers.{i}."
        t += [
            (p + "input_layernorm.weight", (HIDDEN,), ones(HIDDEN)),
            (p + "post_attention_layernorm.weight", (HIDDEN,), ones(HIDDEN)),
            (p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN), rand(rng, (HEADS * HEAD_DIM, HIDDEN))),
            (p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN), rand(rng, (KV_HEADS * HEAD_DIM, HIDDEN))),
            (p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN), rand(rng, (KV_HEADS * HEAD_DIM, HIDDEN))),
            (p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM), rand(rng, (HIDDEN, HEADS * HEAD_DIM))),
            (p + "mlp.gate_proj.weight", (INTERMEDIATE, HIDDEN), rand(rng, (INTERMEDIATE, HIDDEN))),
            (p + "mlp.up_proj.weight", (INTERMEDIATE, HIDDEN), rand(rng, (INTERMEDIATE, HIDDEN))),
            (p + "mlp.down_proj.weight", (HIDDEN, INTERMEDIATE), rand(rng, (HIDDEN, INTERMEDIATE))),
        ]
    write_safetensors(os.path.join(out, "model.safetensors"), t)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": VOCAB,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": layers,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "bfloat16",
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "max_new_tokens": 32}, f, indent=2)
    return sum(len(d) // 2 for _, _, d in t)


def write_lora(out, layers, rank=8, alpha=16, seed=SEED + 2):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    t = []
    for i in range(layers):
        for proj, out_dim in (("q_proj", HEADS * HEAD_DIM), ("v_proj", KV_HEADS * HEAD_DIM)):
            p = f"base_model.model.model.layers.{i}.self_attn.{proj}."
            t.append((p + "lora_A.weight", (rank, HIDDEN), rand(rng, (rank, HIDDEN))))
            t.append((p + "lora_B.weight", (out_dim, rank), rand(rng, (out_dim, rank), std=0.01)))
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), t)
    cfg = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": "tiny-llama",
        "r": rank,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
    }
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tiny-model.py OUTDIR")
    outdir = sys.argv[1]
    tok = train_tokenizer()
    params = write_model(os.path.join(outdir, "tiny-llama"), tok, layers=2, seed=SEED)
    draft = write_model(os.path.join(outdir, "tiny-llama-draft"), tok, layers=1, seed=SEED + 1)
    write_lora(os.path.join(outdir, "tiny-llama-lora"), layers=2)
    sizes = {}
    for d in ("tiny-llama", "tiny-llama-lora", "tiny-llama-draft"):
        p = os.path.join(outdir, d)
        sizes[d] = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p))
    print(json.dumps({"params": params, "draftParams": draft, "bytes": sizes}))


if __name__ == "__main__":
    main()

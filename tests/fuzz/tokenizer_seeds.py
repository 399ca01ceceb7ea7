#!/usr/bin/env python3
"""Writes seed inputs for fuzz_tokenizer into DIR: every llama.cpp test input of VOCAB_DIR, each
with a few mode bytes (vocabulary choice, special parsing), and a few vocabulary-mode inputs.
   tokenizer_seeds.py VOCAB_DIR DIR"""
import os
import sys

vocab_dir, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
n = 0


def seed(data: bytes):
    global n
    with open(os.path.join(out, f"seed-{n:05d}"), "wb") as f:
        f.write(data)
    n += 1


inputs = []
for name in sorted(os.listdir(vocab_dir)):
    if name.endswith(".inp"):
        with open(os.path.join(vocab_dir, name), "rb") as f:
            inputs += f.read().split(b"\n__ggml_vocab_test__\n")
inputs = sorted(set(inputs))
for i, text in enumerate(inputs):
    seed(bytes([i % 32]) + text)
    seed(bytes([0x60 | (i * 7) % 32]) + b"<|im_start|>" + text + b"<|eot_id|>")
seed(b"\x80<|im_start|>\nab\nabc\n\na b\nab c\n\nllama-bpe\n\nabc ab abcabc\n")
seed(b"\x80x\n\na b\n\ngpt-2\n\nab ab\n")
seed(b"\xa0\n\nb c\nc a\n\ndeepseek-llm\n\n  \r\n 12345 abc!!\n")
print(f"{n} seeds in {out}")

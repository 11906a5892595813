#!/usr/bin/env python3
"""The tiny SD 1.x conformance model and its goldens: conformance/tiny-sd1/, tiny-sd1-ldm/ and golden/sd1/.

Environment (CPU only, no network):

    pip install torch==1.13.1 diffusers==0.25.1 safetensors numpy pillow
    python3 conformance/make_sd1_goldens.py /path/to/diffusers-v0.25.1/scripts/convert_diffusers_to_original_stable_diffusion.py

What runs:
  * UNet, VAE and scheduler are diffusers 0.25.1's own UNet2DConditionModel, AutoencoderKL and PNDMScheduler, built
    from SD 1.5's configs with the widths scaled down (attention_head_dim a single int = the number of heads,
    use_linear_projection false, cross-attention width = the text width).
  * The text encoder is a plain PyTorch mirror of transformers' CLIPTextModel (modeling_clip.py, eager attention,
    quick_gelu, last layer + final_layer_norm), the same code as eval/src/test/python/make_eval_goldens.py:
    transformers is not needed. Its weights use transformers' names, so transformers loads the folder as is.
  * The whole pipelines are diffusers' own StableDiffusionPipeline.__call__ and StableDiffusionImg2ImgPipeline.__call__.
    Importing them imports transformers, so a stand-in package named transformers (class names only, nothing of it
    runs) is put on sys.path; each pipeline gets text_encoder=None, tokenizer=None, safety_checker=None, feature_extractor=None and the text embeddings
    (from the mirror) as prompt_embeds / negative_prompt_embeds.
  * Token ids: the conformance prompts through SD 1.x's tokenizer (transformers' CLIPTokenizer, pad
    "<|endoftext|>"). transformers is absent, so they are derived from golden/tokenizer.safetensors (open_clip's
    ids for the same vocabulary and merges): the same BPE, with the padding after EOS as 49407 instead of 0. For
    these prompts open_clip and transformers differ only where the prompt has a special token's text, and with
    SD1's special tokens ("!" is not one) none does.
  * The single-file checkpoint is made by diffusers' own scripts/convert_diffusers_to_original_stable_diffusion.py
    (the path given as the argument) with --half --use_safetensors.

Every weight is rounded to float16 before anything is computed and stored as float16 (the model folder, like the
fp16 variants of SD 1.5 on the Hub, and the checkpoint); everything is computed in float32 from those numbers.
Deterministic: a re-run gives the same tensors.
"""
import atexit
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "tiny-sd1")
LDM = os.path.join(HERE, "tiny-sd1-ldm")
GOLDEN = os.path.join(HERE, "golden", "sd1")
SD2_TOKENIZER = os.path.join(HERE, "tiny-sd2", "tokenizer")


# ---- a stand-in transformers package, so that diffusers' pipeline module imports ------------------------------------

def install_transformers_standin():
    """diffusers checks transformers' distribution metadata and imports class and file names from it; none runs."""
    root = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.makedirs(os.path.join(root, "transformers"))
    names = ["CLIPConfig", "CLIPTextModel", "CLIPTextModelWithProjection", "CLIPTokenizer", "CLIPImageProcessor",
             "CLIPFeatureExtractor", "CLIPVisionModel", "CLIPVisionModelWithProjection", "PreTrainedModel",
             "PreTrainedTokenizer"]
    with open(os.path.join(root, "transformers", "__init__.py"), "w") as f:
        f.write('__version__ = "4.36.2"\n')
        for n in names:
            f.write(f"class {n}:\n    pass\n")
    with open(os.path.join(root, "transformers", "utils.py"), "w") as f:   # file names pipeline_utils imports
        f.write('WEIGHTS_NAME = "pytorch_model.bin"\nSAFE_WEIGHTS_NAME = "model.safetensors"\n'
                'FLAX_WEIGHTS_NAME = "flax_model.msgpack"\n')
    dist = os.path.join(root, "transformers-4.36.2.dist-info")
    os.makedirs(dist)
    with open(os.path.join(dist, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: transformers\nVersion: 4.36.2\n")
    sys.path.insert(0, root)
    importlib.invalidate_caches()


install_transformers_standin()
from diffusers import (AutoencoderKL, PNDMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline,  # noqa: E402
                       UNet2DConditionModel)


# ---- safetensors for the goldens (float32, int64, uint8), with the "info" metadata the other goldens carry ----------

def save(path, tensors, info):
    import struct
    kinds = {np.float32: "F32", np.uint8: "U8", np.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        a = np.ascontiguousarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)
        data = a.tobytes()
        header[name] = {"dtype": kinds[a.dtype.type], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"info": json.dumps(info)}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print(f"{os.path.relpath(path, HERE)}: {offset + len(h) + 8} bytes")


def load_safetensors(path):
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    dt = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U8": np.uint8}
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dt[v["dtype"]])
                                .reshape(v["shape"]).copy()) for k, v in header.items()}


# ---- transformers' CLIPTextModel (modeling_clip.py), as in eval/src/test/python/make_eval_goldens.py ----------------

def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_dim, self.num_heads = c["hidden_size"], c["num_attention_heads"]
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim ** -0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(self.embed_dim, self.embed_dim) for _ in range(4))

    def forward(self, x):
        b, l, _ = x.shape
        shape = lambda t: t.view(b, l, self.num_heads, self.head_dim).transpose(1, 2)
        q, k, v = shape(self.q_proj(x) * self.scale), shape(self.k_proj(x)), shape(self.v_proj(x))
        w = q @ k.transpose(-1, -2) + torch.full((l, l), torch.finfo(x.dtype).min).triu(1)   # causal mask
        return self.out_proj((w.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, l, self.embed_dim))


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["hidden_act"] == "quick_gelu"
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"]))


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])


class CLIPTextModel(nn.Module):
    """last_hidden_state = final_layer_norm(last layer): what SD 1.x conditions on (SD2 takes the penultimate)."""

    def __init__(self, c):
        super().__init__()
        self.text_model = CLIPTextTransformer(c)

    def forward(self, ids):
        t = self.text_model
        x = t.embeddings.token_embedding(ids) + t.embeddings.position_embedding(t.embeddings.position_ids[:, :ids.shape[1]])
        for layer in t.encoder.layers:
            x = layer(x)
        return t.final_layer_norm(x)


# ---- configs: SD 1.5's (runwayml/stable-diffusion-v1-5) with the widths scaled down --------------------------------

TEXT_CONFIG = {
    "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
    "hidden_act": "quick_gelu", "hidden_size": 32, "initializer_factor": 1.0, "initializer_range": 0.02,
    "intermediate_size": 128, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
    "num_attention_heads": 2, "num_hidden_layers": 3, "pad_token_id": 1, "projection_dim": 32, "torch_dtype": "float16",
    "vocab_size": 49408}

UNET_CONFIG = dict(sample_size=16, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 32, 32, 64),
                   down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                   up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                   attention_head_dim=2, cross_attention_dim=32, use_linear_projection=False, upcast_attention=False)

VAE_CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(32, 32, 32, 64),
                  down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=128,
                  scaling_factor=0.18215)

SCHEDULER_CONFIG = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                        set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, trained_betas=None)

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.25.1", "feature_extractor": [None, None],
    "image_encoder": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
    "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"]}


def randomize(module, gen, gain):
    """Random weights that keep activations O(1) (no zeros, no saturation), rounded to float16."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (gain / p[0].numel() ** 0.5))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            p.copy_(p.half().float())


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_model():
    shutil.rmtree(MODEL, ignore_errors=True)
    os.makedirs(MODEL)
    write_json(os.path.join(MODEL, "model_index.json"), MODEL_INDEX)
    gen = torch.Generator().manual_seed(1001)

    text = CLIPTextModel(TEXT_CONFIG).eval()
    randomize(text, gen, 1.5)
    os.makedirs(os.path.join(MODEL, "text_encoder"))
    write_json(os.path.join(MODEL, "text_encoder", "config.json"), TEXT_CONFIG)
    from safetensors.torch import save_file
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in text.state_dict().items()},
              os.path.join(MODEL, "text_encoder", "model.safetensors"),
              metadata={"format": "pt"})

    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    randomize(unet, gen, 1.0)
    unet.half().save_pretrained(os.path.join(MODEL, "unet"))
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    randomize(vae, gen, 1.0)
    vae.half().save_pretrained(os.path.join(MODEL, "vae"))
    PNDMScheduler(**SCHEDULER_CONFIG).save_pretrained(os.path.join(MODEL, "scheduler"))

    # the real CLIP vocabulary and merges; SD 1.x pads with <|endoftext|> (SD2: "!")
    tok = os.path.join(MODEL, "tokenizer")
    os.makedirs(tok)
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(SD2_TOKENIZER, f), os.path.join(tok, f))
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        with open(os.path.join(SD2_TOKENIZER, f)) as src:
            cfg = json.load(src)
        cfg["pad_token"] = "<|endoftext|>"
        write_json(os.path.join(tok, f), cfg)


def load_text_encoder():
    text = CLIPTextModel(TEXT_CONFIG).eval()
    text.load_state_dict(load_safetensors(os.path.join(MODEL, "text_encoder", "model.safetensors")))   # widened to float32
    return text


def sd1_ids():
    """golden/tokenizer.safetensors' open_clip ids with SD1's padding (49407 after the first EOS)."""
    ids = load_safetensors(os.path.join(HERE, "golden", "tokenizer.safetensors"))["input_ids"].clone()
    for row in ids:
        eos = int((row == 49407).nonzero()[0])
        row[eos + 1:] = 49407
    return ids


def main(convert_script):
    torch.set_grad_enabled(False)
    make_model()
    os.makedirs(GOLDEN, exist_ok=True)
    text = load_text_encoder()
    unet = UNet2DConditionModel.from_pretrained(os.path.join(MODEL, "unet"), torch_dtype=torch.float32).eval()
    vae = AutoencoderKL.from_pretrained(os.path.join(MODEL, "vae"), torch_dtype=torch.float32).eval()
    with open(os.path.join(HERE, "golden", "prompts.json"), encoding="utf-8") as f:
        prompts = json.load(f)

    # (a) token ids and text encoder
    ids = sd1_ids()
    hidden = text(ids)
    save(os.path.join(GOLDEN, "text_encoder.safetensors"), {"input_ids": ids, "last_hidden_state": hidden},
         {"case": "text_encoder", "what": "CLIPTextModel mirror, last_hidden_state (last layer + final_layer_norm)",
          "prompts": "golden/prompts.json", "pad": 49407})

    # (b) UNet calls; activations by forward hooks on the first call
    gen = torch.Generator().manual_seed(43)
    sample = torch.randn((2, 4, 16, 24), generator=gen)
    ctx = torch.stack([hidden[2], hidden[0]])
    acts, hooks = {}, []
    for name in ["conv_in", "down_blocks.0.attentions.0.proj_in", "down_blocks.0.attentions.0.transformer_blocks.0.attn1",
                 "down_blocks.0.attentions.0.transformer_blocks.0.attn2", "down_blocks.0.attentions.0.proj_out",
                 "down_blocks.0.attentions.0", "down_blocks.2.attentions.1.transformer_blocks.0.attn2", "mid_block",
                 "mid_block.attentions.0.transformer_blocks.0.attn2", "up_blocks.3.attentions.2.transformer_blocks.0.attn2"]:
        module = unet.get_submodule(name)
        hooks.append(module.register_forward_hook(lambda m, i, o, n=name: acts.__setitem__("act." + n, o[0] if isinstance(o, tuple) else
                                                                                          getattr(o, "sample", o))))
    out = unet(sample, 801, encoder_hidden_states=ctx).sample
    for h in hooks:
        h.remove()
    save(os.path.join(GOLDEN, "unet_A.safetensors"),
         {"sample": sample, "timestep": torch.tensor([801.0]), "encoder_hidden_states": ctx, "out": out, **acts},
         {"case": "unet_A", "timestep": 801, "context": "rows: text_encoder last_hidden_state[2] (\"\"), [0]"})
    sample_b = torch.randn((1, 4, 16, 24), generator=gen)
    ctx_b = torch.randn((1, 77, 32), generator=gen)
    out_b = unet(sample_b, 437.25, encoder_hidden_states=ctx_b).sample
    save(os.path.join(GOLDEN, "unet_B.safetensors"),
         {"sample": sample_b, "timestep": torch.tensor([437.25]), "encoder_hidden_states": ctx_b, "out": out_b},
         {"case": "unet_B", "timestep": 437.25, "context": "randn"})

    # (c) the whole pipeline: diffusers' StableDiffusionPipeline.__call__, PNDM (skip_prk_steps), CFG 7.5
    scheduler = PNDMScheduler.from_pretrained(os.path.join(MODEL, "scheduler"))
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    cond, uncond = text(ids[1:2]), text(ids[2:3])
    init_noise = torch.randn((1, 4, 16, 24), generator=torch.Generator().manual_seed(42))
    steps, record = 6, {}

    def on_step(p, i, t, kw):
        record[f"step{i}.latents"] = kw["latents"].clone()
        return kw

    args = dict(prompt_embeds=cond, negative_prompt_embeds=uncond, height=128, width=192, num_inference_steps=steps,
                guidance_scale=7.5, latents=init_noise.clone())
    latents = pipe(**args, output_type="latent", callback_on_step_end=on_step).images
    image = pipe(**args, output_type="pt").images
    image_raw = vae.decode(latents / vae.config.scaling_factor).sample
    assert torch.equal(image, (image_raw / 2 + 0.5).clamp(0, 1))
    pixels = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)   # diffusers' numpy_to_pil
    Image.fromarray(pixels).save(os.path.join(GOLDEN, "pipeline_pndm.png"))
    save(os.path.join(GOLDEN, "pipeline_pndm.safetensors"),
         {"cond_input_ids": ids[1:2], "uncond_input_ids": ids[2:3], "prompt_embeds": torch.cat([uncond, cond]),
          "init_noise": init_noise, "timesteps": scheduler.timesteps.to(torch.int64), **record, "final_latents": latents,
          "image_raw": image_raw, "image": image, "image_uint8_hwc": pixels},
         {"case": "pipeline_pndm", "prompt": prompts[1], "negative_prompt": "", "guidance_scale": 7.5, "steps": steps,
          "height": 128, "width": 192, "scheduler": "PNDMScheduler (tiny-sd1/scheduler, skip_prk_steps)"})

    # (c2) img2img: diffusers' own StableDiffusionImg2ImgPipeline.__call__, PNDM, CFG 7.5, strength 0.5, from the
    # test card of the SD-Turbo goldens; its generator (seed 42) draws the VAE's sample, then the added noise
    i2i = StableDiffusionImg2ImgPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet,
                                         scheduler=PNDMScheduler.from_pretrained(os.path.join(MODEL, "scheduler")),
                                         safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    i2i.set_progress_bar_config(disable=True)
    card = Image.open(os.path.join(HERE, "golden", "turbo_img2img_init.png")).convert("RGB")
    args = dict(prompt_embeds=cond, negative_prompt_embeds=uncond, image=card, strength=0.5, num_inference_steps=steps,
                guidance_scale=7.5)
    latents = i2i(**args, generator=torch.Generator().manual_seed(42), output_type="latent").images
    image = i2i(**args, generator=torch.Generator().manual_seed(42), output_type="pt").images
    image_raw = vae.decode(latents / vae.config.scaling_factor).sample
    assert torch.equal(image, (image_raw / 2 + 0.5).clamp(0, 1))
    pixels = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(os.path.join(GOLDEN, "img2img_pndm.png"))
    save(os.path.join(GOLDEN, "img2img_pndm.safetensors"),
         {"timesteps": i2i.scheduler.timesteps.to(torch.int64), "final_latents": latents, "image_raw": image_raw,
          "image_uint8_hwc": pixels},
         {"case": "img2img_pndm", "prompt": prompts[1], "negative_prompt": "", "guidance_scale": 7.5, "steps": steps,
          "strength": 0.5, "seed": 42, "init_image": "golden/turbo_img2img_init.png", "height": 128, "width": 192,
          "scheduler": "PNDMScheduler (tiny-sd1/scheduler, skip_prk_steps)"})

    # (d) the same weights as an original single-file v1 checkpoint, by diffusers' own conversion script
    shutil.rmtree(LDM, ignore_errors=True)
    os.makedirs(LDM)
    subprocess.run([sys.executable, convert_script, "--model_path", MODEL, "--checkpoint_path",
                    os.path.join(LDM, "tiny-sd1-ldm.safetensors"), "--half", "--use_safetensors"], check=True,
                   stdout=subprocess.DEVNULL)
    ck = load_safetensors(os.path.join(LDM, "tiny-sd1-ldm.safetensors"))
    assert ck["cond_stage_model.transformer.text_model.final_layer_norm.weight"].dtype == torch.float16
    assert torch.equal(ck["cond_stage_model.transformer.text_model.final_layer_norm.weight"].float(),
                       text.text_model.final_layer_norm.weight)
    print(f"tiny-sd1-ldm/tiny-sd1-ldm.safetensors: {len(ck)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_sd1_goldens.py <diffusers>/scripts/convert_diffusers_to_original_stable_diffusion.py")
    main(sys.argv[1])

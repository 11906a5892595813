#!/usr/bin/env python3
"""Golden tensors for the evaluation models' tests (CLIP and the FID Inception-v3).

Builds TINY random-weight models with the real topologies, written in plain PyTorch after the code they mirror
(transformers' modeling_clip.py and CLIPImageProcessor; pytorch-fid's inception.py on top of torchvision's Inception3
blocks), and saves their weights under the real models' tensor names, their inputs and their outputs as .safetensors
files under eval/src/test/resources/dev/stitch/eval/. The Java tests load the weights with the project's own loaders
and compare.

Regenerate from the repository root (deterministic; no network, no transformers, no pytorch-fid):

    apt-get install -y python3-torch python3-torchvision python3-pil python3-numpy   # Debian's packages
    /usr/bin/python3 eval/src/test/python/make_eval_goldens.py

What is checked:
  * PIL's bicubic resize (a = -0.5, support widened by the downscale factor, 8-bit fixed point, horizontal pass
    first), upscaling and downscaling, bit for bit;
  * CLIPImageProcessor: resize the short side, center crop, rescale by 1/255, normalise with CLIP's mean and std;
    at the real 224 size (uint8 after resize + crop) and at the tiny model's 32 (the float pixel values);
  * CLIPModel: vision tower (conv patches, class token, pre_layrnorm (sic), post_layernorm on the class token,
    visual_projection), text tower (causal, pooled at the EOS token), normalised image and text embeddings, for a
    quick_gelu model with the legacy eos_token_id 2 (argmax of the ids) and a gelu model whose eos_token_id is a real
    id (first occurrence);
  * torch's bilinear F.interpolate (align_corners=False), up and down;
  * the FID Inception-v3 (FIDInceptionA/C/E_1/E_2, count_include_pad=False average pools, the max-pool branch of
    Mixed_7c, BatchNorm eps 1e-3 with random statistics), every channel count divided by 16, run as pytorch-fid
    does: bilinear resize to 299x299, [0, 1] -> [-1, 1], 2048/16 = 128 pool features.
"""
import functools
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision.models.inception import BasicConv2d, Inception3, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "dev", "stitch", "eval")


# ---- safetensors (written by hand: Debian has no safetensors package) ------------------------------------------------

def save(path, tensors, metadata=None):
    kinds = {np.float32: "F32", np.uint8: "U8", np.int64: "I64", np.int32: "I32"}
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        a = np.ascontiguousarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": kinds[a.dtype.type], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print(f"{os.path.relpath(path)}: {offset + len(h) + 8} bytes")


# ---- CLIPImageProcessor (transformers, the PIL path) -------------------------------------------------------------------

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def resize_short_side(hwc, shortest_edge):
    """image_transforms.get_resize_output_image_size(default_to_square=False) + resize with PIL's BICUBIC."""
    h, w = hwc.shape[:2]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    oh, ow = (new_long, new_short) if w <= h else (new_short, new_long)
    return np.array(Image.fromarray(hwc).resize((ow, oh), resample=Image.BICUBIC))


def center_crop(hwc, size):
    h, w = hwc.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    assert top >= 0 and left >= 0
    return hwc[top:top + size, left:left + size]


def clip_pixel_values(hwc, size):
    x = center_crop(resize_short_side(hwc, size), size)
    x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)                 # rescale
    x = (x - np.array(CLIP_MEAN, np.float32)) / np.array(CLIP_STD, np.float32)  # normalize, in float32
    return x.transpose(2, 0, 1)


# ---- CLIPModel (transformers' modeling_clip.py, eager attention) -------------------------------------------------------

ACT = {"quick_gelu": lambda x: x * torch.sigmoid(1.702 * x), "gelu": F.gelu}


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_dim, self.num_heads = c["hidden_size"], c["num_attention_heads"]
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim ** -0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(self.embed_dim, self.embed_dim) for _ in range(4))

    def forward(self, x, causal):
        b, l, _ = x.shape
        shape = lambda t: t.view(b, l, self.num_heads, self.head_dim).transpose(1, 2)
        q, k, v = shape(self.q_proj(x) * self.scale), shape(self.k_proj(x)), shape(self.v_proj(x))
        w = q @ k.transpose(-1, -2)
        if causal:
            w = w + torch.full((l, l), torch.finfo(w.dtype).min).triu(1)
        o = w.softmax(dim=-1) @ v
        return self.out_proj(o.transpose(1, 2).reshape(b, l, self.embed_dim))


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.act = ACT[c["hidden_act"]]
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, causal):
        x = x + self.self_attn(self.layer_norm1(x), causal)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, x, causal):
        for layer in self.layers:
            x = layer(x, causal)
        return x


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.class_embedding = nn.Parameter(torch.randn(d))
        self.patch_embedding = nn.Conv2d(c["num_channels"], d, kernel_size=p, stride=p, bias=False)
        self.position_embedding = nn.Embedding((c["image_size"] // p) ** 2 + 1, d)

    def forward(self, pixel_values):
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixel_values.shape[0], 1, -1)
        x = torch.cat([cls, patches], dim=1)
        return x + self.position_embedding(torch.arange(x.shape[1]))[None]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, pixel_values):
        last = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)), causal=False)
        return last, self.post_layernorm(last[:, 0, :])


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(torch.arange(ids.shape[1]))[None]


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.eos_token_id = c["eos_token_id"]
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids):
        last = self.final_layer_norm(self.encoder(self.embeddings(ids), causal=True))
        if self.eos_token_id == 2:   # legacy configs: EOS is the largest id
            eos = ids.argmax(dim=-1)
        else:
            eos = (ids == self.eos_token_id).int().argmax(dim=-1)
        return last, last[torch.arange(ids.shape[0]), eos]


class CLIPModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        t, v = config["text_config"], config["vision_config"]
        self.text_model = CLIPTextTransformer(t)
        self.vision_model = CLIPVisionTransformer(v)
        self.visual_projection = nn.Linear(v["hidden_size"], config["projection_dim"], bias=False)
        self.text_projection = nn.Linear(t["hidden_size"], config["projection_dim"], bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config["logit_scale_init_value"]))

    def get_image_features(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values)[1])

    def get_text_features(self, ids):
        return self.text_projection(self.text_model(ids)[1])


def randomize(module, gen):
    """Random weights of a size that keeps activations O(1): the goldens must not test zeros or saturations."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("logit_scale"):
                continue
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / fan_in ** 0.5))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))


def clip_config(hidden_act, eos_token_id):
    text = dict(vocab_size=300, hidden_size=40, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=77, hidden_act=hidden_act, layer_norm_eps=1e-5, eos_token_id=eos_token_id,
                bos_token_id=298 if eos_token_id != 2 else 0, pad_token_id=1, projection_dim=24, model_type="clip_text_model")
    vision = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2, num_channels=3,
                  image_size=32, patch_size=8, hidden_act=hidden_act, layer_norm_eps=1e-5, projection_dim=24,
                  model_type="clip_vision_model")
    return {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 24, "logit_scale_init_value": 2.6592,
            "initializer_factor": 1.0, "text_config": text, "vision_config": vision}


def make_clip(name, hidden_act, eos_token_id, seed, images):
    gen = torch.Generator().manual_seed(seed)
    config = clip_config(hidden_act, eos_token_id)
    model = CLIPModel(config).eval()
    randomize(model, gen)
    folder = os.path.join(ROOT, "clip", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    size = config["vision_config"]["image_size"]
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:   # the old-style file openai's repos ship
        json.dump({"crop_size": size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                   "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
                   "resample": 3, "size": size}, f, indent=2)
    save(os.path.join(folder, "model.safetensors"), {k: v for k, v in model.state_dict().items()}, {"format": "pt"})

    pixel_values = torch.from_numpy(np.stack([clip_pixel_values(im, size) for im in images]))
    eos = 299
    ids = torch.randint(3, 290, (3, 77), generator=gen)
    ids[:, 0] = 298                       # BOS
    ids[0, 9], ids[0, 10:] = eos, eos     # padded with EOS (openai's tokenizer): the first EOS is the pooled one
    ids[1, 30], ids[1, 31:] = eos, 0      # padded with 0 (SD2's "!")
    ids[2, 76] = eos                      # truncated: EOS kept at the last position
    with torch.no_grad():
        vision_last, vision_pooled = model.vision_model(pixel_values)
        text_last, text_pooled = model.text_model(ids)
        image_features, text_features = model.get_image_features(pixel_values), model.get_text_features(ids)
    out = {"pixel_values": pixel_values, "input_ids": ids.to(torch.int64),
           "vision_last_hidden_state": vision_last, "vision_pooled": vision_pooled,
           "text_last_hidden_state": text_last, "text_pooled": text_pooled,
           "image_features": image_features, "text_features": text_features,
           "image_embeds": image_features / image_features.norm(p=2, dim=-1, keepdim=True),
           "text_embeds": text_features / text_features.norm(p=2, dim=-1, keepdim=True)}
    for i, im in enumerate(images):
        out[f"image{i}"] = im
    save(os.path.join(ROOT, "clip", name + "_golden.safetensors"), out)


def make_preprocessing(gen):
    rng = np.random.default_rng(7)
    out = {}
    # PIL bicubic, up and down, non-integer factors, one side only, 1 pixel.
    src = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for i, (ow, oh) in enumerate([(19, 11), (53, 20), (101, 80), (8, 97), (1, 1), (53, 37)]):
        out[f"bicubic{i}_out"] = np.array(Image.fromarray(src).resize((ow, oh), resample=Image.BICUBIC))
    out["bicubic_src"] = src
    # CLIPImageProcessor at the real size (224): uint8 after resize + center crop.
    big = rng.integers(0, 256, (300, 257, 3), dtype=np.uint8)   # downscaled, portrait (the tiny goldens go both ways)
    out["clip224_src"], out["clip224_crop"] = big, center_crop(resize_short_side(big, 224), 224)
    out["clip224_pixel_values_row100"] = clip_pixel_values(big, 224)[:, 100, :]  # one row of the float result
    # torch bilinear (pytorch-fid's resize), up and down.
    x = torch.rand((1, 3, 37, 53), generator=gen)
    out["bilinear_src"] = x
    for i, (oh, ow) in enumerate([(29, 31), (61, 70), (37, 53), (5, 90)]):
        out[f"bilinear{i}_out"] = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
    save(os.path.join(ROOT, "preprocessing_golden.safetensors"), out)


# ---- FID Inception-v3 (pytorch-fid's fid_inception_v3 on torchvision's blocks) ----------------------------------------

class FIDInceptionA(InceptionA):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        # Tensorflow's average pool does not count the padded zeros
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class FIDInceptionC(InceptionC):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            b = conv(b)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([branch1x1, branch7x7, b, branch_pool], 1)


class FIDInceptionE(InceptionE):
    def __init__(self, in_channels, conv_block, max_pool):
        super().__init__(in_channels, conv_block=conv_block)
        self.max_pool = max_pool   # FIDInceptionE_2 (Mixed_7c) max-pools, FIDInceptionE_1 average-pools

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, self.branch_pool(pooled)], 1)


WIDTH_DIVISOR = 16


def tiny_conv(in_channels, out_channels, **kwargs):
    """torchvision's BasicConv2d (conv without bias, BatchNorm eps 1e-3, ReLU) with channel counts divided down."""
    shrink = lambda c: c if c == 3 else c // WIDTH_DIVISOR
    return BasicConv2d(shrink(in_channels), shrink(out_channels), **kwargs)


def fid_inception_v3_tiny(gen):
    cb = tiny_conv
    blocks = [cb, functools.partial(InceptionA, conv_block=cb), functools.partial(InceptionB, conv_block=cb),
              functools.partial(InceptionC, conv_block=cb), functools.partial(InceptionD, conv_block=cb),
              functools.partial(InceptionE, conv_block=cb), None]
    net = Inception3(num_classes=10, aux_logits=False, inception_blocks=blocks, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32, conv_block=cb)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64, conv_block=cb)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64, conv_block=cb)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128, conv_block=cb)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160, conv_block=cb)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160, conv_block=cb)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192, conv_block=cb)
    net.Mixed_7b = FIDInceptionE(1280, cb, max_pool=False)
    net.Mixed_7c = FIDInceptionE(2048, cb, max_pool=True)
    net.fc = nn.Linear(2048 // WIDTH_DIVISOR, 10)   # unused by FID; present in the real state dict
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.6 + 0.8 * torch.rand(c, generator=gen))
                m.bias.copy_(0.3 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.3 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
    return net.eval()


def fid_pool_features(net, x):
    """pytorch-fid's InceptionV3(output_blocks=[3]).forward, then fid_score's squeeze."""
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    for m in (net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
              net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
              net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d,
              net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1))):
        x = m(x)
    return x.squeeze(3).squeeze(2)


def make_inception(gen):
    net = fid_inception_v3_tiny(gen)
    save(os.path.join(ROOT, "inception", "tiny_fid_inception.safetensors"), dict(net.state_dict()))
    noise = torch.rand((1, 3, 40, 48), generator=gen)
    yy, xx = torch.meshgrid(torch.arange(40.0), torch.arange(48.0), indexing="ij")
    smooth = torch.stack([0.5 + 0.5 * torch.sin(xx / 5), 0.5 + 0.5 * torch.cos(yy / 7), (xx + yy) / 86])[None]
    images = torch.cat([noise, smooth])   # two unlike images, so that rows cannot stand in for each other
    with torch.no_grad():
        feats = fid_pool_features(net, images)
    save(os.path.join(ROOT, "inception", "fid_inception_golden.safetensors"), {"images": images, "pool_features": feats})


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (57, 40, 3), dtype=np.uint8),    # portrait, downscaled to 32
              rng.integers(0, 256, (20, 27, 3), dtype=np.uint8)]    # landscape, upscaled to 32
    make_clip("tiny-clip", "quick_gelu", 2, 11, images)
    make_clip("tiny-clip-gelu", "gelu", 299, 12, images)
    make_preprocessing(gen)
    make_inception(gen)


if __name__ == "__main__":
    main()

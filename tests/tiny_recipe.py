"A tiny recipe defined outside the library, as a user's own system would be: noisy linear regression."
import os, time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from vcore.core import Recipe


@dataclass
class Data:
    n_train: int = 64
    n_val: int = 24
    path: str | None = None  # a .pt file holding {'x': (n, 4), 'y': (n,)} replaces the built-in data


@dataclass
class Model:
    hidden: int = 16
    dropout: float = 0.1


class Regression(Dataset):
    def __init__(self, x, y): self.x, self.y = x, y
    def __len__(self): return len(self.x)
    def __getitem__(self, i): return {'x': self.x[i], 'y': self.y[i]}


def make(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return Regression(x, x @ torch.tensor([1., -2., .5, 0.]) + 0.1 * torch.randn(n, generator=g))


def load(path):
    d = torch.load(path, weights_only=True)
    if not isinstance(d, dict) or set(d) != {'x', 'y'}: raise ValueError(f"{path}: expected a dict with keys 'x' and 'y'")
    return Regression(d['x'], d['y'])


def build_data(cfg):
    if cfg.data.path: return load(cfg.data.path), make(cfg.data.n_val, 1)
    return make(cfg.data.n_train, 0), make(cfg.data.n_val, 1)


def build_model(cfg):
    m = cfg.model
    return nn.Sequential(nn.Linear(4, m.hidden), nn.GELU(), nn.Dropout(m.dropout), nn.Linear(m.hidden, 1))


def loss(model, b):
    if os.environ.get('TINY_SLEEP'): time.sleep(float(os.environ['TINY_SLEEP']))
    l = (model(b['x']).squeeze(-1) - b['y']).pow(2).mean()
    return l, {'rmse': l.detach().sqrt()}


recipe = Recipe('tiny', Data, Model, build_data=build_data, build_model=build_model, loss=loss,
                predict=lambda m, b: {'pred': m(b['x']).squeeze(-1), 'y': b['y']},
                metrics=lambda o, c: {'loss': float((o['pred'] - o['y']).pow(2).mean()), 'n': len(o['y'])},
                build_eval_data=lambda cfg, path: load(path))

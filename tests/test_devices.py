import threading

import pytest
import torch

from dropout_sme import devices


def test_cpu_and_auto_without_gpu():
    with devices.gpu_slot("cpu") as d:
        assert d.type == "cpu"
    if not torch.cuda.is_available():
        with devices.gpu_slot("auto") as d:
            assert d.type == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA device"):
            devices.resolve_device("cuda")


@pytest.fixture
def three_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)


def test_concurrent_jobs_get_different_gpus_and_wait_when_all_are_taken(three_gpus, tmp_path):
    with devices.gpu_slot("cuda", tmp_path) as a, devices.gpu_slot("cuda", tmp_path) as b, \
            devices.gpu_slot("auto", tmp_path) as c:
        assert sorted(d.index for d in (a, b, c)) == [0, 1, 2]
        got = []
        waiter = threading.Thread(
            target=lambda: got.append(devices.gpu_slot("cuda", tmp_path, poll=0.05).__enter__()))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and not got        # all three are held: the fourth job waits
    waiter.join(5)
    assert got and got[0].index in (0, 1, 2)        # and gets one once they are released


def test_an_explicit_gpu_is_used_as_given(three_gpus, tmp_path):
    with devices.gpu_slot("cuda:2", tmp_path) as d:
        assert d == torch.device("cuda", 2)


def test_compute_jobs_turn_tf32_off():
    """cuDNN allows TF32 by default: a ResNet's float32 gradient was 8e-3 off on an H200."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with devices.compute_job("cpu", torch.get_num_threads()):
            assert not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_a_job_larger_than_its_device_is_refused_before_it_starts():
    """The cost plan's estimate (the rules' device_mb resource) against the device's memory."""
    cpu = torch.device("cpu")
    have = devices.total_memory_mb(cpu)
    devices.check_memory(None, cpu)                       # no estimate: nothing to check
    devices.check_memory(have / 2, cpu)
    with pytest.raises(MemoryError, match=r"needs about .* GB on cpu by the cost plan .* lower "
                                          r"its chunk, masks or batch"):
        devices.check_memory(2 * have, cpu)
    with pytest.raises(MemoryError):
        with devices.compute_job("cpu", 1, need_mb=2 * have):
            raise AssertionError("the job must not start")

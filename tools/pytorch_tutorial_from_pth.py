#!/usr/bin/env python3
"""PyTorch's numbers for the tutorial run started from a saved state_dict (what
`linreg --init-from FILE.pth` must reproduce).

    /path/to/python tools/pytorch_tutorial_from_pth.py tests/fixtures/lr_model_seed42.pth \
        > tests/fixtures/pytorch_from_pth_trace.json

Builds the tutorial's data (`torch.arange(0, 1, 0.02)`, y = 0.8·x + 0.2, 80/20 in order),
loads the file into a fresh `LrModel` as the tutorial's section 4 does
(`loaded_model.load_state_dict(torch.load(...))`), records that model's test predictions, then
runs the tutorial's training loop on it (L1 loss, SGD lr 0.01, 500 epochs, evaluation in
inference mode every 50) and prints JSON: the loaded parameters (`init_w`, `init_b`), the
loaded model's `test_predictions`, every logged `{epoch, train_loss, test_loss}`, the
parameters before every step and that step's train loss (`trace`), and the final parameters
and losses. Needs torch; one thread, so the sums are reduced in a fixed order.
"""
import json
import sys

import torch
import torch.nn as nn


class LrModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(in_features=1, out_features=1)

    def forward(self, x):
        return self.linear(x)


def main(path):
    torch.set_num_threads(1)
    X = torch.arange(0, 1, 0.02).unsqueeze(1)
    y = 0.8 * X + 0.2
    split = int(0.8 * len(X))
    X_train, y_train, X_test, y_test = X[:split], y[:split], X[split:], y[split:]

    model = LrModel()
    model.load_state_dict(torch.load(path))
    init_w, init_b = model.linear.weight.item(), model.linear.bias.item()
    model.eval()
    with torch.inference_mode():
        test_predictions = model(X_test).squeeze(1).tolist()

    loss_fn = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    logged, trace = [], []
    for epoch in range(500):
        model.train()
        w, b = model.linear.weight.item(), model.linear.bias.item()
        y_pred = model(X_train)
        loss = loss_fn(y_pred, y_train)
        trace.append({"w": w, "b": b, "train_loss": loss.item()})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % 50 == 0:
            model.eval()
            with torch.inference_mode():
                test_loss = loss_fn(model(X_test), y_test)
            logged.append({"epoch": epoch, "train_loss": loss.item(), "test_loss": test_loss.item()})
    model.eval()
    with torch.inference_mode():
        final_train = loss_fn(model(X_train), y_train).item()
        final_test = loss_fn(model(X_test), y_test).item()
    json.dump(
        {
            "source": "tools/pytorch_tutorial_from_pth.py",
            "torch": torch.__version__,
            "init_w": init_w,
            "init_b": init_b,
            "test_predictions": test_predictions,
            "logged": logged,
            "trace": trace,
            "final_w": model.linear.weight.item(),
            "final_b": model.linear.bias.item(),
            "final_train_loss": final_train,
            "final_test_loss": final_test,
        },
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main(sys.argv[1])

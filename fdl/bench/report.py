"""The results as a markdown table and as a JSON file."""

import json
import os
import tempfile


def _num(value, digits):
    return "—" if value is None else f"{value:,.{digits}f}"


def table(results):
    """A markdown table: one row per (workload, implementation)."""
    lines = [
        f"- {res['key']}: {res['title']} (unit: {res['unit']})"
        for res in results["workloads"].values()
    ]
    lines += [
        "",
        "| workload | implementation | ms per unit | examples/s | GFLOP/s (share of matmul) "
        "| vs fastest peer |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for res in results["workloads"].values():
        label = res["key"]
        for row in res["rows"]:
            if "ms" not in row:
                lines.append(f"| {label} | {row['implementation']} | {row['status']} | | | |")
                continue
            rate = "—"
            if res["flops_per_unit"]:
                share = row.get("fraction_of_matmul")
                rate = _num(row["gflops"], 1) + (f" ({share:.0%})" if share is not None else "")
            ratio = row["vs_fastest_peer"]
            lines.append(
                f"| {label} | {row['implementation']} | {_num(row['ms'], 2)} "
                f"| {_num(row['examples_per_s'], 0)} | {rate} "
                f"| {'—' if ratio is None else f'{ratio:.2f}x'} |"
            )
    return "\n".join(lines)


def write_json(results, path):
    """Writes ``results`` to ``path`` atomically (a temporary file, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

"""Options that several commands take, declared once so their names and help read the same everywhere.

An option used by one command only is declared beside that command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.commands.common import DEMO_WAREHOUSE

# --config: required where the command works on a configuration, optional where it only says
# where the warehouse (and what else the help names) is.
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")]
WarehouseConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Take the warehouse from here.")
]
LabelConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Configuration (warehouse, profile model, period)."),
]

# --warehouse: research commands fall back to the demo's warehouse; maintenance ones do not guess.
WarehouseOption = Annotated[
    Path | None,
    typer.Option(help=f"Warehouse file (default: from --config, else ./{DEMO_WAREHOUSE})."),
]
MaintenanceWarehouseOption = Annotated[
    Path | None, typer.Option(help="Warehouse file; this or --config is required (no default).")
]

# Where the nightly flow's NLP computes (demo, run, serve).
RunnerOption = Annotated[
    str, typer.Option(help="Where the NLP computes: threads (this process), processes or dask.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1, help="Workers of the runner (default: threads 1, processes and dask one per core but one)."
    ),
]
DaskAddressOption = Annotated[
    str | None, typer.Option(help="An existing Dask scheduler, tcp://host:8786 (with --runner dask).")
]

# Columns of the CSV files that nlp, eval, estimate and label read.
TextColOption = Annotated[str, typer.Option(help="Column with the text.")]
VoiceColOption = Annotated[str, typer.Option(help="Column that groups rows into voices.")]
ProfileColOption = Annotated[str, typer.Option(help="Column with the profile id.")]

MunicipalityOption = Annotated[str | None, typer.Option(help="Municipality id; default all.")]
ProfileModelOption = Annotated[str, typer.Option(help="Profile model id or file.")]
EvidenceOption = Annotated[
    str,
    typer.Option(
        "--evidence",
        help="shipped (the fit that ships with the model), handset (the profile file alone) "
        "or a file from `betrokken label fit`.",
    ),
]
# The real labelled sets that eval sentiment and eval topics know by file name (nlp/realsets.py).
RealSetsOption = Annotated[
    Path | None,
    typer.Option(
        "--real",
        help="Instead of --csv: the folder of real labelled sets (e.g. ../shared/nlp_dev); "
        "every set of this task that is there.",
    ),
]
TransformerModelOption = Annotated[
    str | None, typer.Option(help="Local directory or cached Hugging Face id of the transformer model.")
]

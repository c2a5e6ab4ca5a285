import re

MODELS = list(config["models"])
SIMILARITY = config["similarity"]["name"]
TASKS = config["tasks"]
# Images per side a unit needs: N·(K+1) (references plus queries).
IMAGES_PER_SIDE = TASKS["n_tasks"] * (TASKS["n_references"] + 1)

ALL_FIGURES = ["figures/fig3.pdf"]


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    similarity=re.escape(SIMILARITY),

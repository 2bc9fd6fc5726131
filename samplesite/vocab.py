"""Fixed word lists and hand-picked hard cases the generator draws from.

Every clean title here must already be a fixed point of the normalizer (NFC, no "X- y" break, no
trailing ", Month YYYY", no backslash); artefacts are added by the generator, never written here.
"""

from __future__ import annotations

# Real hub UUIDs and titles from SITE.md; the seed hub comes first and is handled by seed_hub.py.
KNOWN_HUBS: list[tuple[str, str | None]] = [
    ("214732c0-2edd-44a0-af9e-28184a2b8279", "Language Models are Few-Shot Learners"),
    (
        "745b4799-6ac4-4abe-924f-78bf0a08ffa1",
        "Pythia: A Suite for Analyzing Large Language Models Across Training and Scaling",
    ),
    ("b7dd8749-9c45-4977-ab9b-64478dce1ae8", "Scaling Laws for Neural Language Models"),
    ("6e44af7c-1e6a-465f-aef5-0e4fa461e0ef", "A Unified Approach to Interpreting Model Predictions"),
    ("6de86bb5-27bd-4d5c-8b89-967ebfc52659", "Learning Transferable Visual Models From Natural Language Supervision"),
    ("faaaa4e0-2676-4fac-a0b4-99aef10d2095", "Constitutional AI: Harmlessness from AI Feedback"),
    ("9bce40c8-cfd7-4983-80e0-c3bd4402322a", "Toolformer: Language Models Can Teach Themselves to Use Tools"),
    ("d0c30cd7-81e1-4159-a87f-f6adca77ff08", "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena"),
    ("0426219a-789e-4964-adc8-a04538510818", "LoRA: Low-Rank Adaptation of Large Language Models"),
    (
        "62105b61-411f-46e5-970a-bd322c6adbbc",
        "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
    ),
    ("d1cf6693-a082-403c-ada9-dac7b96341f9", "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models"),
    ("52aff42f-4fa9-4fcf-bdb3-1459b9bebf65", "Training language models to follow instructions with human feedback"),
    ("477b01a5-d0db-4fd3-82bb-fd705dc04457", "Axiomatic Attribution for Deep Networks"),
    (
        "e96730e3-129b-4db6-b981-15ab7932e297",
        "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
    ),
    ("6d05b790-04c5-4fd2-91b2-ba1dfdd5770f", "Let's Verify Step by Step"),
    ("07adb06e-4ed5-4ec5-a7ae-ff288fd214fb", "Tree of Thoughts: Deliberate Problem Solving with Large Language Models"),
    ("68be622d-a6dc-4a13-82de-e3054a3dc509", "Visual Instruction Tuning"),
    (
        "c5006563-f3ec-438a-9e35-b7b484f34828",
        "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language Models",
    ),
    (
        "3578786d-7271-4cb8-8272-9a32cad305fb",
        "TensorFlow: Large-Scale Machine Learning on Heterogeneous Distributed Systems",
    ),
    ("2002c269-2584-4f0b-894e-7820d5466bca", None),  # an unresolved stub: "Title resolution pending"
]
# The two known hubs made heavy (> 600 citing papers) whenever the site has 100+ hubs.
HEAVY_KNOWN = ("214732c0-2edd-44a0-af9e-28184a2b8279", "d1cf6693-a082-403c-ada9-dac7b96341f9")

TITLE_PENDING = "Title resolution pending"

ROLES = ("background", "method", "baseline", "dataset", "other")
ROLE_WEIGHTS = (55, 20, 10, 7, 8)
POLARITIES = ("background", "support")
VERDICTS = ("unverdicted", "accept", "conditional", "reject")
VERDICT_WEIGHTS = (50, 20, 20, 10)
CATEGORIES = (
    "cs.LG",
    "cs.CL",
    "cs.AI",
    "cs.CV",
    "cs.CR",
    "cs.IR",
    "cs.RO",
    "cs.SE",
    "stat.ML",
    "math.OC",
    "math.ST",
    "math.PR",
    "physics.comp-ph",
    "physics.data-an",
    "hep-th",
    "hep-ph",
    "astro-ph.CO",
    "astro-ph.GA",
)
CATEGORY_WEIGHTS = (30, 22, 14, 10, 3, 3, 2, 2, 6, 2, 1, 1, 1, 1, 1, 1, 1, 1)
# Old-style arXiv archives for ids like hep-th/9901001 (linked as /ref/arxiv/...).
OLD_ARCHIVES = ("hep-th", "hep-ph", "astro-ph", "cond-mat", "math", "gr-qc", "quant-ph")
VENUES = ("NeurIPS", "ICML", "ICLR", "ACL", "EMNLP", "CVPR", "NAACL", "JMLR", "TMLR", None)

ADJECTIVES = (
    "Sparse",
    "Robust",
    "Scalable",
    "Efficient",
    "Faithful",
    "Causal",
    "Adaptive",
    "Hierarchical",
    "Contrastive",
    "Probabilistic",
    "Federated",
    "Interpretable",
    "Differentiable",
    "Bayesian",
    "Multimodal",
    "Structured",
    "Implicit",
    "Self-Supervised",
    "Low-Rank",
    "Continual",
    "Generative",
    "Equivariant",
    "Calibrated",
    "Compositional",
    "Distributed",
    "Stochastic",
    "Verified",
)
NOUNS = (
    "Attention",
    "Transformers",
    "Representations",
    "Gradients",
    "Retrieval",
    "Reasoning",
    "Agents",
    "Embeddings",
    "Diffusion",
    "Optimization",
    "Alignment",
    "Tokenization",
    "Distillation",
    "Graphs",
    "Policies",
    "Explanations",
    "Benchmarks",
    "Kernels",
    "Priors",
    "Estimators",
    "Autoencoders",
    "Reward Models",
    "Language Models",
    "Vision Encoders",
    "Neural Operators",
    "Mixtures of Experts",
)
TASKS = (
    "Question Answering",
    "Time Series Forecasting",
    "Protein Design",
    "Code Generation",
    "Machine Translation",
    "Image Segmentation",
    "Program Synthesis",
    "Theorem Proving",
    "Recommendation",
    "Speech Recognition",
    "Anomaly Detection",
    "Molecular Property Prediction",
    "Trajectory Prediction",
    "Text Classification",
    "Dark Matter Searches",
    "Lattice Field Theory",
    "Galaxy Classification",
    "Portfolio Optimization",
    "Medical Imaging",
    "Weather Prediction",
)
PATTERNS = (
    "{adj} {noun} for {task}",
    "On the Limits of {adj} {noun}",
    "{noun} Meet {task}: A {adj} Perspective",
    "Towards {adj} {noun} in {task}",
    "Rethinking {noun} for {adj} {task}",
    "When Do {noun} Help {task}?",
    "{adj} {noun}: Theory and Practice",
    "A Survey of {adj} {noun}",
)
SUMMARY_PATTERNS = (
    "{adj} {noun} improve {task} by {pct}% over strong baselines while using fewer parameters.",
    "The paper shows that {noun_l} fail on {task_l} unless trained with {adj_l} objectives.",
    "A {adj_l} variant of {noun_l} matches prior results on {task_l} at a fraction of the compute.",
    "Experiments on {n} benchmarks suggest {adj_l} {noun_l} transfer poorly across {task_l} settings.",
    "We give a {adj_l} analysis of {noun_l} and derive bounds relevant to {task_l}.",
)
# Long words a PDF line break can split ("Predic- tions"): split points are inside, lower case after.
HYPHENABLE = (
    "Predictions",
    "Representations",
    "Optimization",
    "Interpretable",
    "Transformers",
    "Reasoning",
    "Explanations",
    "Distillation",
    "Retrieval",
    "Benchmarks",
    "Generation",
    "Classification",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Accented letters and the LaTeX escape a reference string writes for them.
LATEX_ESCAPES = {
    "ö": '\\"o',
    "ü": '\\"u',
    "ä": '\\"a',
    "é": "\\'e",
    "è": "\\`e",
    "ő": "\\H{o}",
    "ç": "\\c{c}",
    "š": "\\v{s}",
}
# Hand-picked clean titles: every one must appear on some hub page of every generated site.
HARD_PAPER_TITLES = (
    "Schlögl Models and Reaction Networks Revisited",
    "Erdős–Rényi Graphs as Priors for Sparse Attention",
    "Gödel Machines and Self-Referential Learners",
    "Café: A Benchmark for Multilingual Retrieval",
    "基于注意力机制的可解释性研究",
    "Scaling Laws for Emoji Prediction 🚀🔥",
    "Why A < B & C > D: \"Quoted\" Results in 'Transformer' Theory",
    "'; DROP TABLE citation; --",
    "Formatting Attacks with %s and %(name)s in Prompt Templates",
    "Binding :name Parameters Safely in Retrieval Pipelines",
    "Tom & Jerry's <Adversarial> Games",
)
HARD_SUMMARIES = (
    "Shows that <script>alert(1)</script> & friends survive naive HTML escaping in 3 of 5 pipelines.",
    "Ablations with 'single' and \"double\" quotes; the % sign and :name placeholders are left as is.",
    "Résumé: a Gödel-style argument for 中文 and emoji 🚀 tokenizers.",
)
AUTHOR_FIRST = ("A.", "B.", "C.", "D.", "E.", "J.", "K.", "L.", "M.", "S.", "Y.", "Z.")
AUTHOR_LAST = (
    "Smith",
    "Chen",
    "Müller",
    "García",
    "Nakamura",
    "Okafor",
    "Ivanova",
    "Kowalski",
    "Dubois",
    "Rossi",
    "Kim",
    "Schlögl",
    "Erdős",
    "Patel",
    "O'Brien",
)
CLAIMS = (
    "Attention weights correlate weakly with gradient-based importance.",
    "The method is the standard baseline for low-resource settings.",
    "Results do not replicate above 7B parameters.",
    "The dataset contains duplicated test items (about 3%).",
    "Scaling exponents differ between code & natural language.",
)

"""The one real hub page we know (shared/seed/hub-page-as-read.txt), as data.

Copied so the package does not read outside itself; the seed-hub test compares the rendered page with the file.
"""

UUID = "dae37f2b-32da-4f0a-9478-5e06e96fa213"
TITLE = "Attention is not Explanation"
ABSTRACT = (
    "Attention mechanisms have seen wide adoption in neural NLP models. In addition to improving "
    "predictive performance, these are often touted as affording transparency: models equipped with "
    "attention provide a distribution over attended-to input units, and this is often presented (at least"
    " implicitly) as communicating the relative importance of inputs. However, it is unclear what "
    "relationship exists between attention weights and model outputs. In this work, we perform extensive "
    "experiments across a variety of NLP tasks that aim to assess the degree to which attention weights "
    "provide meaningful `explanations' for predictions. We find that they largely do not. For example, "
    "learned attention weights are frequently uncorrelated with gradient-based measures of feature "
    "importance, and one can identify very different attention distributions that nonetheless yield "
    "equivalent predictions. Our findings show that standard attention modules do not provide meaningful "
    "explanations and should not be treated as though they do. Code for all experiments is available at "
    "https://github.com/successar/AttentionExplanation."
)
# Explorer order: (title, summary or None for title-only entries).
EXPLORER = [
    (
        "Does Synthetic Data Help? Empirical Evidence from Deep Learning Time Series Forecasters",
        "Synthetic data augmentation helps channel-mixing time series models but degrades channel-independent ones, with reliable gains only from seasonal-trend generators and gradual schedules in low-resource settings.",
    ),
    (
        "Rescaled Asynchronous SGD: Optimal Distributed Optimization under Data and System Heterogeneity",
        "Rescaled ASGD recovers convergence to the true global objective by rescaling worker stepsizes proportional to computation times, matching the known time lower bound in the leading term under non-convex smoothness and bounded heterogeneity.",
    ),
    (
        "Correcting Influence: Unboxing LLM Outputs with Orthogonal Latent Spaces",
        "A latent mediation framework with sparse autoencoders enables non-additive token-level influence attribution in LLMs by learning orthogonal features and back-propagating attributions.",
    ),
    (
        "Explainable AI: Context-Aware Layer-Wise Integrated Gradients for Explaining Transformer Models",
        "CA-LIG is a unified hierarchical attribution method that computes layer-wise Integrated Gradients fused with class-specific attention gradients to generate signed, context-sensitive explanations for transformer models.",
    ),
    (
        "EviSnap: Faithful Evidence-Cited Explanations for Cold-Start Cross-Domain Recommendation",
        "EviSnap creates cross-domain recommendations whose scores decompose exactly into evidence-cited concept contributions via offline LLM facet extraction, clustering, and linear transfer.",
    ),
    (
        "Enabling Global, Human-Centered Explanations for LLMs:From Tokens to Interpretable Code and Test Generation",
        "CodeQ aggregates token rationales into code categories to enable global interpretability of LLMs, claiming over 50% entropy reduction and revealing model preference for syntactic cues plus human misalignment in a 37-person study.",
    ),
    (
        "Large Vision-Language Models Get Lost in Attention",
        "In LVLMs, attention can be replaced by random Gaussian weights with little or no performance loss, indicating that current models get lost in attention rather than efficiently using visual context.",
    ),
    (
        "Adversarial Humanities Benchmark: Results on Stylistic Robustness in Frontier Model Safety",
        "Stylistic rewrites of harmful prompts raise attack success rates from 3.84% to 36.8-65% across 31 frontier models, indicating weak generalization in safety refusals.",
    ),
    (
        "Super Agents and Confounders: Influence of surrounding agents on vehicle trajectory prediction",
        "Surrounding agents frequently degrade trajectory prediction accuracy in interactive driving scenes, and integrating a Conditional Information Bottleneck improves results by ignoring non-beneficial contextual signals.",
    ),
    (
        "INSIGHTS: Demonstration-Based Summaries of Time Series Predictors",
        "INSIGHTS creates manageable global summaries of time series model behavior by balancing sample importance and diversity with domain-specific utility functions, validated via experiments and user studies.",
    ),
    (
        "Do Transformer Attention Heads Provide Transparency in Abstractive Summarization?",
        "Analysis of transformer attention heads in abstractive summarization shows specialization in some heads and proposes a method to measure model reliance on learned attention distributions.",
    ),
    (
        "Interpretable Question Answering on Knowledge Bases and Text",
        "Compares LIME, input perturbation and attention for explaining QA on KB+text; proposes automatic evaluation paradigm and finds input perturbation superior in both automatic and human studies.",
    ),
    (
        "SAIL: Structure-Aware Interpretable Learning for Anatomy-Aligned Post-hoc Explanations in OCT",
        "SAIL integrates anatomical priors at the representation level with semantic features via fusion to produce more anatomically aligned attribution maps in OCT without altering existing explainability techniques.",
    ),
    (
        "Hessian-Enhanced Token Attribution (HETA): Interpreting Autoregressive LLMs",
        "HETA is a new attribution framework for decoder-only LLMs that combines semantic transition vectors, Hessian-based sensitivity scores, and KL divergence to produce more faithful and human-aligned token attributions than prior methods.",
    ),
    (
        "Uncertainty-Aware Transformers: Conformal Prediction for Language Models",
        "CONFIDE applies conformal prediction to transformer embeddings for valid prediction sets, improving accuracy up to 4.09% and efficiency over baselines on models like BERT-tiny.",
    ),
    (
        "Decoding the Multimodal Maze: A Systematic Review on the Adoption of Explainability in Multimodal Attention-based Models",
        "A systematic literature review of explainability in multimodal attention models finds most studies focus on vision-language tasks with attention-based explanations, but evaluation methods lack consistency and modality-specific considerations.",
    ),
    ("CLIF: Concept-Level Influence Functions for Transparent Bottleneck Models", None),
    ("Architecture-Aware Explanation Auditing for Industrial Visual Inspection", None),
    ("Beyond Explainable AI (XAI): An Overdue Paradigm Shift and Post-XAI Research Directions", None),
]
# Positions (in EXPLORER) of the 15 representative entries, in their page order.
REPRESENTATIVE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]

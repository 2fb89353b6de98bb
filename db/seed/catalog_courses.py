"""Course wording for the catalog generator: providers, their URL patterns and what a
course covers per skill category.  Hand-written courses live in source/courses.tsv."""

from __future__ import annotations

# provider -> URL pattern ({slug} is the course slug)
PROVIDER_URLS: dict[str, str] = {
    "Coursera": "https://www.coursera.org/learn/{slug}",
    "edX": "https://www.edx.org/learn/{slug}",
    "Udemy": "https://www.udemy.com/course/{slug}/",
    "Pluralsight": "https://www.pluralsight.com/courses/{slug}",
    "LinkedIn Learning": "https://www.linkedin.com/learning/{slug}",
    "DataCamp": "https://www.datacamp.com/courses/{slug}",
    "Frontend Masters": "https://frontendmasters.com/courses/{slug}/",
    "A Cloud Guru": "https://learn.acloud.guru/course/{slug}",
    "Codecademy": "https://www.codecademy.com/learn/{slug}",
    "Microsoft Learn": "https://learn.microsoft.com/training/paths/{slug}/",
    "AWS Skill Builder": "https://skillbuilder.aws/learn/{slug}",
    "Google Cloud Skills Boost": "https://www.cloudskillsboost.google/course_templates/{slug}",
    "Linux Foundation Training": "https://training.linuxfoundation.org/training/{slug}/",
    "SANS Institute": "https://www.sans.org/cyber-security-courses/{slug}/",
    "Cybrary": "https://www.cybrary.it/course/{slug}",
    "Interaction Design Foundation": "https://www.interaction-design.org/courses/{slug}",
    "HubSpot Academy": "https://academy.hubspot.com/courses/{slug}",
    "Google Skillshop": "https://skillshop.withgoogle.com/courses/{slug}",
    "Salesforce Trailhead": "https://trailhead.salesforce.com/content/learn/trails/{slug}",
    "Corporate Finance Institute": "https://corporatefinanceinstitute.com/course/{slug}/",
    "Wall Street Prep": "https://www.wallstreetprep.com/courses/{slug}/",
    "SHRM": "https://www.shrm.org/credentials/learning/{slug}",
    "AAPC": "https://www.aapc.com/training/{slug}",
    "AHIMA Academy": "https://www.ahima.org/education/{slug}",
    "ATD Education": "https://www.td.org/education-courses/{slug}",
    "Reforge": "https://www.reforge.com/programs/{slug}",
    "Product School": "https://productschool.com/courses/{slug}",
    "Scrum.org": "https://www.scrum.org/courses/{slug}",
    "PMI": "https://www.pmi.org/learning/training-development/{slug}",
    "ASCM": "https://www.ascm.org/learning-development/{slug}/",
    "FutureLearn": "https://www.futurelearn.com/courses/{slug}",
}

CATEGORY_PROVIDERS: dict[str, tuple[str, ...]] = {
    "programming": ("Coursera", "Udemy", "Codecademy", "Pluralsight", "edX"),
    "web": ("Frontend Masters", "Udemy", "Codecademy", "Pluralsight"),
    "backend": ("Pluralsight", "Udemy", "Coursera", "LinkedIn Learning"),
    "engineering": ("Coursera", "edX", "Pluralsight"),
    "mobile": ("Udemy", "Coursera", "Pluralsight"),
    "database": ("DataCamp", "Pluralsight", "Udemy"),
    "data": ("DataCamp", "Coursera", "LinkedIn Learning"),
    "ml": ("Coursera", "DataCamp", "edX"),
    "cloud": ("A Cloud Guru", "Coursera", "Pluralsight"),
    "devops": ("Linux Foundation Training", "A Cloud Guru", "Udemy", "Pluralsight"),
    "security": ("SANS Institute", "Cybrary", "Coursera", "Pluralsight"),
    "qa": ("Udemy", "Pluralsight", "LinkedIn Learning"),
    "design": ("Interaction Design Foundation", "Coursera", "LinkedIn Learning", "Udemy"),
    "product": ("Reforge", "Product School", "Coursera"),
    "operations": ("PMI", "Coursera", "LinkedIn Learning"),
    "marketing": ("HubSpot Academy", "Google Skillshop", "Coursera", "LinkedIn Learning"),
    "sales": ("LinkedIn Learning", "Coursera", "Udemy"),
    "finance": ("Corporate Finance Institute", "Wall Street Prep", "Coursera", "edX"),
    "people": ("SHRM", "LinkedIn Learning", "Coursera"),
    "customer": ("LinkedIn Learning", "Coursera", "Udemy"),
    "it": ("Coursera", "Microsoft Learn", "LinkedIn Learning"),
    "education": ("Coursera", "ATD Education", "edX", "FutureLearn"),
    "healthcare": ("AAPC", "AHIMA Academy", "Coursera", "edX"),
    "business": ("LinkedIn Learning", "Coursera", "edX"),
}

# skills whose vendor runs the obvious course provider
SKILL_PROVIDERS: dict[str, str] = {
    "aws": "AWS Skill Builder",
    "dynamodb": "AWS Skill Builder",
    "serverless": "AWS Skill Builder",
    "azure": "Microsoft Learn",
    "dotnet": "Microsoft Learn",
    "csharp": "Microsoft Learn",
    "power_bi": "Microsoft Learn",
    "windows_server": "Microsoft Learn",
    "active_directory": "Microsoft Learn",
    "microsoft_office": "Microsoft Learn",
    "gcp": "Google Cloud Skills Boost",
    "bigquery": "Google Cloud Skills Boost",
    "kubernetes": "Linux Foundation Training",
    "linux": "Linux Foundation Training",
    "helm": "Linux Foundation Training",
    "hubspot": "HubSpot Academy",
    "google_ads": "Google Skillshop",
    "google_analytics": "Google Skillshop",
    "salesforce": "Salesforce Trailhead",
    "crm": "Salesforce Trailhead",
    "scrum": "Scrum.org",
    "agile": "Scrum.org",
    "kanban": "Scrum.org",
    "supply_chain_management": "ASCM",
    "inventory_management": "ASCM",
    "logistics": "ASCM",
    "medical_coding": "AAPC",
    "cpt_coding": "AAPC",
    "icd_10": "AAPC",
    "medical_billing": "AAPC",
    "health_information_management": "AHIMA Academy",
    "hipaa": "AHIMA Academy",
    "instructional_design": "ATD Education",
    "learning_development": "ATD Education",
    "valuation": "Wall Street Prep",
    "financial_modeling": "Wall Street Prep",
}

# category -> (beginner, intermediate, advanced) sentence about what the course covers;
# {name} is the skill name
CATEGORY_TOPICS: dict[str, tuple[str, str, str]] = {
    "programming": (
        "Covers {name} syntax, data types, control flow and functions through small programs.",
        "Write idiomatic, tested {name}: modules, errors, tooling and the standard library.",
        "Goes deep into {name} performance, concurrency, memory and the design of large codebases.",
    ),
    "web": (
        "Builds a small site step by step to teach the core ideas of {name}.",
        "Applies {name} to a realistic multi-page application with state, testing and tooling.",
        "Covers architecture, performance profiling and patterns for large {name} applications.",
    ),
    "backend": (
        "Builds a first service with {name}, from routing and persistence to simple tests.",
        "Covers authentication, validation, testing and deployment of {name} services.",
        "Explores scaling, resilience, observability and trade-offs for {name} in production.",
    ),
    "engineering": (
        "Introduces the core concepts of {name} with worked examples and exercises.",
        "Practises {name} on realistic problems and reviews common mistakes.",
        "Tackles hard {name} problems and trade-offs from real production systems.",
    ),
    "mobile": (
        "Builds and runs a first app with {name}, covering layouts, navigation and data.",
        "Adds networking, persistence, testing and store release to {name} apps.",
        "Covers architecture, performance and accessibility for large {name} codebases.",
    ),
    "database": (
        "Introduces {name}: data model, querying and basic administration.",
        "Covers indexing, transactions, schema design and query tuning in {name}.",
        "Explores replication, partitioning, high availability and performance work in {name}.",
    ),
    "data": (
        "Introduces {name} with guided exercises on real-world datasets.",
        "Applies {name} to end-to-end business problems, from raw data to a clear recommendation.",
        "Covers advanced techniques, automation and scale for {name} in a production data team.",
    ),
    "ml": (
        "Explains the key ideas of {name} with intuition first and runnable notebooks.",
        "Builds, evaluates and tunes {name} models on realistic datasets.",
        "Covers state-of-the-art {name} methods, research papers and production deployment.",
    ),
    "cloud": (
        "Introduces {name} core services, pricing and the shared responsibility model.",
        "Designs and deploys secure, scalable workloads with {name} in hands-on labs.",
        "Prepares for professional-level {name} architecture: multi-account, cost and resilience.",
    ),
    "devops": (
        "Introduces {name} with hands-on labs in a sandbox environment.",
        "Automates real delivery and operations workflows with {name}.",
        "Runs {name} at scale: security hardening, troubleshooting and production patterns.",
    ),
    "security": (
        "Introduces {name} concepts, common attacks and defences with hands-on labs.",
        "Applies {name} in realistic scenarios and tooling used by security teams.",
        "Covers advanced {name} techniques used by experienced practitioners and red/blue teams.",
    ),
    "qa": (
        "Introduces {name}: what to test, how to write good cases and report defects.",
        "Builds a maintainable {name} suite for a realistic application and runs it in CI.",
        "Designs {name} strategy and frameworks for large products and teams.",
    ),
    "design": (
        "Introduces the principles and tools of {name} through short design exercises.",
        "Applies {name} to a full product case study, from brief to critique and iteration.",
        "Covers advanced {name} practice, leading critiques and scaling quality across teams.",
    ),
    "product": (
        "Introduces {name} with frameworks, templates and examples from real products.",
        "Practises {name} on case studies from fast-growing product companies.",
        "Covers {name} for senior product leaders: trade-offs, alignment and measuring outcomes.",
    ),
    "operations": (
        "Introduces the methods and vocabulary of {name} with practical templates.",
        "Applies {name} tools and techniques to a realistic business case.",
        "Covers advanced {name} for leaders running complex, multi-team operations.",
    ),
    "marketing": (
        "Introduces {name}: channels, metrics and how to plan a first campaign.",
        "Plans, runs and optimises {name} campaigns with real budgets and reporting.",
        "Covers advanced {name} strategy, experimentation and attribution at scale.",
    ),
    "sales": (
        "Introduces {name} techniques with scripts, role-plays and examples.",
        "Practises {name} across realistic deal scenarios and objections.",
        "Covers {name} for complex enterprise deals and for coaching a team.",
    ),
    "finance": (
        "Introduces {name} concepts, terminology and worked examples in Excel.",
        "Applies {name} to realistic company cases with templates used in practice.",
        "Covers advanced {name} used by senior finance professionals and reviewers.",
    ),
    "people": (
        "Introduces {name} practice, policies and the legal basics.",
        "Applies {name} to realistic workplace scenarios and case studies.",
        "Covers {name} strategy and programme design for senior HR professionals.",
    ),
    "customer": (
        "Introduces {name} practices, tools and the metrics teams use.",
        "Applies {name} playbooks to realistic customer scenarios.",
        "Covers scaling {name} with segmentation, automation and team leadership.",
    ),
    "it": (
        "Introduces {name} with hands-on labs on common workplace problems.",
        "Applies {name} to realistic service-desk and infrastructure scenarios.",
        "Covers advanced {name} for administrators of larger environments.",
    ),
    "education": (
        "Introduces {name} with research-informed principles and classroom examples.",
        "Applies {name} to real lessons and learners with templates and feedback.",
        "Covers {name} leadership: coaching colleagues and improving outcomes at scale.",
    ),
    "healthcare": (
        "Introduces {name} with healthcare-specific vocabulary, rules and examples.",
        "Practises {name} on realistic cases from clinics and hospitals.",
        "Prepares for certification-level {name} and complex, audit-ready cases.",
    ),
    "business": (
        "Introduces practical {name} techniques you can use at work immediately.",
        "Practises {name} in realistic workplace scenarios with feedback.",
        "Develops advanced {name} for senior professionals and leaders.",
    ),
}

TITLE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "beginner": (
        "{name} Fundamentals",
        "Introduction to {name}",
        "Getting Started with {name}",
        "{name} for Beginners",
        "{name} Essentials",
    ),
    "intermediate": (
        "Practical {name}",
        "{name} in Practice",
        "Intermediate {name}",
        "Applied {name}",
        "{name}: Beyond the Basics",
    ),
    "advanced": (
        "Advanced {name}",
        "Mastering {name}",
        "{name}: Expert Techniques",
        "{name} Masterclass",
    ),
}

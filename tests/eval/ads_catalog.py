"""Job ads for occupations the catalog holds: four or more per job family.

Written as real postings read (company blurb, duties, requirements, perks) and labelled
before the engine was tuned on them. Skills: what a person would tick in the catalog.
"""

from __future__ import annotations

from tests.eval.model import JobAd, ad

CATALOG_ADS: tuple[JobAd, ...] = (
    # -- software ---------------------------------------------------------------------
    ad(
        "sw-backend-python",
        "software",
        "python django postgresql rest_api docker unit_testing git code_review",
        """Backend Engineer (Python) - Fintech scale-up, Berlin or remote EU.
        You will build and run the services behind our payments app. Day to day you will
        design REST APIs in Django, model data in PostgreSQL, write unit tests and review
        your colleagues' pull requests. We ship with Docker and Git-based workflows.
        Requirements: 3+ years of professional Python and a pragmatic attitude. Nice to
        have: payments domain.""",
    ),
    ad(
        "sw-frontend-react",
        "software",
        "react typescript css html web_accessibility jest redux",
        """Frontend Engineer - we are a small team building a booking platform for
        independent gyms. You will own our React and TypeScript web app: new screens,
        state management with Redux, accessible components (WCAG) and semantic HTML/CSS.
        We test with Jest and care about clean code. 2-4 years of experience building
        single-page applications. Hybrid, Amsterdam office two days a week.""",
    ),
    ad(
        "sw-java-spring",
        "software",
        "java spring_boot microservices kafka sql postgresql kubernetes unit_testing",
        """Java Developer, insurance claims platform. Join the team modernising our claims
        engine into microservices. Stack: Java 17, Spring Boot, Kafka for events, Oracle
        and PostgreSQL (you write SQL comfortably), deployed on Kubernetes. You write unit
        tests, pair on code, and take part in design sessions. Mid-level, 4+ years.""",
    ),
    ad(
        "sw-ios",
        "software",
        "swift ios_development git unit_testing rest_api code_review web_accessibility",
        """iOS Developer - our consumer app for language learners has 2M monthly users.
        You will build features in Swift and SwiftUI, integrate our REST backend, keep
        crash rates low and write unit tests. You know Xcode, Instruments and the App Store
        release process; Git flow with code review. Bonus: accessibility on iOS.""",
    ),
    ad(
        "sw-embedded",
        "software",
        "c cpp embedded_systems linux git",
        """Embedded Software Engineer - industrial sensors. Write firmware in C and C++ for
        ARM Cortex-M microcontrollers running an RTOS, bring up new boards with the
        hardware team, debug with oscilloscopes and JTAG, and maintain our Yocto-based
        Linux gateway. Degree in electrical engineering or computer science; Git.""",
    ),
    ad(
        "sw-qa-automation",
        "software",
        "test_automation selenium python ci_cd software_testing jira",
        """Test Automation Engineer. You will grow our automated regression suite for a
        B2B web platform: UI tests with Selenium in Python, API checks, and run them in our
        CI/CD pipelines. You will write test plans with the product team, report defects
        in Jira and coach developers on testability. ISTQB is a plus.""",
    ),
    ad(
        "sw-engineering-manager",
        "software",
        "people_management mentoring system_design agile leadership code_review",
        """Engineering Manager, Checkout team (8 engineers). You lead people: hiring,
        1:1s, growth plans and performance conversations, and mentoring senior engineers.
        You stay close to the technology - you can discuss system design trade-offs and
        still join code reviews - and you run the team in an agile way with product and
        design. Previous experience managing a team of engineers is required.""",
    ),
    # -- data -----------------------------------------------------------------------
    ad(
        "data-analyst",
        "data",
        "sql excel tableau data_analysis data_visualization statistics communication",
        """Data Analyst - retail. Turn sales and loyalty data into decisions. You will
        write SQL against our warehouse, build Tableau dashboards for store managers,
        analyse promotions, and present findings to non-technical colleagues. Strong Excel
        and a grounding in statistics. Good communication skills matter as much as
        technique. 1-3 years of experience.""",
    ),
    ad(
        "data-engineer",
        "data",
        "python sql airflow spark etl data_warehousing aws dbt",
        """Data Engineer. Build and maintain the batch and streaming pipelines that feed
        our analytics platform. You will write Python and SQL, orchestrate jobs with
        Airflow, transform data with dbt and Spark, and keep our data warehouse on AWS
        reliable and documented. 3+ years building ETL pipelines.""",
    ),
    ad(
        "data-scientist",
        "data",
        "machine_learning statistics scikit_learn pandas ab_testing sql",
        """Data Scientist, marketplace pricing. Build models that predict demand and help
        set prices. You will explore data with pandas and SQL, train models with
        scikit-learn, design A/B tests with the product team and explain results clearly.
        MSc or PhD in a quantitative field, strong statistics, 2+ years of machine learning
        in production.""",
    ),
    ad(
        "data-bi-analyst",
        "data",
        "power_bi sql data_modeling business_intelligence excel stakeholder_management",
        """Business Intelligence Analyst. Own the Power BI reporting for our finance and
        operations teams: gather needs from stakeholders, model data (star schema), write
        SQL and DAX, and retire the old Excel reports. You enjoy making numbers trusted.""",
    ),
    ad(
        "data-ml-engineer",
        "data",
        "python pytorch mlops docker kubernetes machine_learning deep_learning",
        """Machine Learning Engineer. Take our deep learning models from research notebook
        to production: training pipelines in PyTorch, model deployment and monitoring with
        MLflow, Docker and Kubernetes. You write production Python and care about
        reproducibility. Experience with recommendation or ranking models is a plus.""",
    ),
    # -- design ----------------------------------------------------------------------
    ad(
        "design-product-designer",
        "design",
        "figma prototyping ux_research design_systems interaction_design usability_testing",
        """Product Designer. You will shape end-to-end experiences for our scheduling
        product: from discovery and user interviews to interaction design, prototypes in
        Figma and usability testing. You contribute to our design system and work daily
        with engineers and product managers. Portfolio required.""",
    ),
    ad(
        "design-ux-researcher",
        "design",
        "ux_research usability_testing market_research communication data_analysis",
        """UX Researcher. Plan and run qualitative and quantitative studies: user
        interviews, usability studies, surveys, diary studies. Synthesise findings and
        communicate them in workshops so teams act on them. You are comfortable analysing
        data from product analytics too. 3+ years in user research.""",
    ),
    ad(
        "design-graphic",
        "design",
        "visual_design illustrator photoshop typography brand_design",
        """Graphic Designer - in-house creative team of a drinks brand. Create packaging,
        print and social assets within our brand identity. Expert in Adobe Illustrator and
        Photoshop, strong typography and layout, eye for detail, able to take a brief and
        run with it. Portfolio with packaging work preferred.""",
    ),
    ad(
        "design-ui",
        "design",
        "ui_design figma design_systems visual_design prototyping responsive_design",
        """UI Designer for a banking app. Craft pixel-perfect interfaces in Figma, maintain
        the component library of our design system, build interactive prototypes and make
        every screen work on mobile and desktop (responsive design). Strong visual design
        sense and attention to detail.""",
    ),
    # -- education -----------------------------------------------------------------------
    ad(
        "edu-teacher",
        "education",
        "teaching lesson_planning "
        "classroom_management assessment_design differentiated_instruction",
        """Secondary Mathematics Teacher, starting September. Teach mathematics to students
        aged 11-16, plan engaging lessons, manage a positive classroom, set and mark
        assessments, and adapt teaching for mixed abilities (differentiated instruction).
        Qualified teacher status required; newly qualified teachers welcome.""",
    ),
    ad(
        "edu-instructional-designer",
        "education",
        "instructional_design articulate_storyline e_learning lms adult_learning",
        """Instructional Designer. Design and build e-learning modules for our 12,000
        employees using ADDIE, Articulate Storyline and Rise; publish to our LMS (SCORM)
        and measure impact. You understand how adults learn and work closely with subject
        matter experts.""",
    ),
    ad(
        "edu-tutor",
        "education",
        "tutoring teaching lesson_planning communication",
        """Online English Tutor, part-time. Give one-to-one tutoring sessions to teenagers
        preparing for exams, prepare short lesson plans, track progress and send feedback
        to parents. You are patient, encouraging and a clear communicator. Teaching
        certificate (CELTA or similar) preferred.""",
    ),
    ad(
        "edu-sen-teacher",
        "education",
        "special_education teaching classroom_management differentiated_instruction",
        """Special Education Teacher (SEN). Support pupils with autism and learning
        difficulties in a small class. You write and review IEPs with parents and
        therapists, adapt materials, keep a calm classroom and teach core subjects.
        Experience in special education and a teaching licence required.""",
    ),
    # -- finance -----------------------------------------------------------------------
    ad(
        "fin-staff-accountant",
        "finance",
        "accounting reconciliation financial_reporting gaap excel quickbooks erp",
        """Staff Accountant. Post journal entries, run bank reconciliations, support the
        month-end close and prepare financial statements under US GAAP. You are precise,
        quick with Excel and know QuickBooks or NetSuite. CPA track welcome.""",
    ),
    ad(
        "fin-fpa",
        "finance",
        "fpa financial_modeling budgeting "
        "forecasting excel stakeholder_management corporate_finance",
        """FP&A Manager. Lead the annual budget and rolling forecasts, build the
        three-statement financial model, analyse variances and partner with business
        stakeholders on decisions. Advanced Excel; 6+ years in FP&A or corporate finance.""",
    ),
    ad(
        "fin-ap",
        "finance",
        "accounts_payable reconciliation erp sap excel",
        """Accounts Payable Specialist. Process supplier invoices end to end, match
        purchase orders, run weekly payment runs, reconcile vendor statements and answer
        supplier queries. Experience with an ERP (SAP or Oracle) and solid Excel.""",
    ),
    ad(
        "fin-tax",
        "finance",
        "taxation accounting gaap",
        """Tax Specialist. Prepare corporate tax returns and VAT filings, support transfer
        pricing documentation, and keep up with changes in tax law. Accounting degree, 3+
        years in a tax practice, knowledge of GAAP.""",
    ),
    # -- healthcare administration -----------------------------------------------------------
    ad(
        "hc-medical-coder",
        "healthcare_admin",
        "medical_coding icd_10 cpt_coding medical_terminology hipaa",
        """Certified Medical Coder (CPC). Review physician documentation and assign ICD-10
        and CPT codes for outpatient visits, query providers when documentation is unclear
        and keep accuracy above 95%. Strong medical terminology and HIPAA knowledge.
        Remote after training.""",
    ),
    ad(
        "hc-billing",
        "healthcare_admin",
        "medical_billing insurance_claims revenue_cycle_management cpt_coding",
        """Medical Billing Specialist. Submit claims to payers, work denials, post
        payments and follow up on unpaid accounts for a multi-specialty clinic. Familiar
        with CPT codes, prior authorisation and the revenue cycle.""",
    ),
    ad(
        "hc-receptionist",
        "healthcare_admin",
        "patient_scheduling ehr customer_support communication hipaa",
        """Medical Receptionist - family practice. Greet patients at the front desk, book
        appointments, register new patients in the EMR, verify insurance details and
        answer phones. Friendly customer service and clear communication; you handle
        patient information in line with HIPAA.""",
    ),
    ad(
        "hc-him-manager",
        "healthcare_admin",
        "health_information_management ehr hipaa people_management healthcare_compliance",
        """Health Information Manager. Lead the medical records team of a 300-bed hospital:
        release of information, record completeness, EHR documentation standards and
        HIPAA privacy. Prepare for Joint Commission surveys. RHIA and 3+ years managing
        people.""",
    ),
    # -- infrastructure -------------------------------------------------------------------
    ad(
        "infra-devops",
        "infrastructure",
        "aws terraform kubernetes docker ci_cd linux observability github_actions",
        """DevOps Engineer. Run and improve our AWS platform: infrastructure in Terraform,
        services on Kubernetes (EKS) and Docker, CI/CD with GitHub Actions, and monitoring
        with Datadog. You are at home on Linux and like automating toil away.""",
    ),
    ad(
        "infra-sre",
        "infrastructure",
        "sre observability prometheus grafana incident_management kubernetes go",
        """Site Reliability Engineer. Define SLOs with service teams, build alerting with
        Prometheus and Grafana, lead incident response and blameless postmortems, and
        write tooling in Go. Kubernetes experience in production is essential; you take
        part in an on-call rotation.""",
    ),
    ad(
        "infra-network",
        "infrastructure",
        "networking network_security linux troubleshooting",
        """Network Engineer. Design, configure and support LAN/WAN across 20 offices:
        routing and switching (Cisco), firewalls and VPNs, DNS and load balancing. Solve
        problems methodically, document changes, and support some Linux servers. CCNP
        preferred.""",
    ),
    ad(
        "infra-it-support",
        "infrastructure",
        "it_support active_directory windows_server troubleshooting customer_support",
        """IT Support Specialist. First and second line help desk for 400 staff: laptops,
        Microsoft 365 admin, Active Directory accounts, printers and VPN. Troubleshoot
        calmly and explain things without jargon - good customer service matters here.""",
    ),
    ad(
        "infra-dba",
        "infrastructure",
        "database_design postgresql mysql linux bash",
        """Database Administrator. Own the health of our PostgreSQL and MySQL estate:
        backups, replication, upgrades and query optimization. Automate routine work with
        Bash on Linux and advise developers on schema design.""",
    ),
    # -- marketing -------------------------------------------------------------------------
    ad(
        "mkt-seo",
        "marketing",
        "seo content_marketing google_analytics html",
        """SEO Specialist. Grow organic traffic for our travel site: keyword research,
        technical SEO audits, on-page optimisation and content briefs for writers. You read
        Google Analytics 4 and Search Console daily and know enough HTML to fix things.""",
    ),
    ad(
        "mkt-ppc",
        "marketing",
        "sem google_ads marketing_analytics excel conversion_rate_optimization",
        """PPC Specialist. Plan and optimise paid search campaigns on Google Ads and
        Microsoft Ads with a budget of EUR 2M a year. Track ROAS, build reports in Excel,
        test landing pages with the CRO team. 2+ years managing paid search.""",
    ),
    ad(
        "mkt-social",
        "marketing",
        "social_media_marketing content_marketing copywriting marketing_analytics",
        """Social Media Manager. Own our Instagram, TikTok and LinkedIn presence: content
        calendar, community management and paid social. Write sharp copy, brief creators
        and report on campaign performance every month.""",
    ),
    ad(
        "mkt-email",
        "marketing",
        "email_marketing marketing_automation ab_testing hubspot copywriting",
        """Email Marketing Specialist. Build lifecycle and newsletter campaigns in HubSpot,
        set up nurture flows, run A/B tests on subject lines and write clear email copy.
        You care about deliverability and segmentation.""",
    ),
    ad(
        "mkt-product-marketing",
        "marketing",
        "product_marketing go_to_market competitive_analysis market_research presentation_skills",
        """Product Marketing Manager. Own positioning and messaging for our analytics
        product, plan launches with product and sales, build competitive battlecards from
        market research, and present to customers and analysts. B2B SaaS background.""",
    ),
    # -- operations -------------------------------------------------------------------------
    ad(
        "ops-project-manager",
        "operations",
        "project_management risk_management stakeholder_management budgeting jira agile",
        """Project Manager - digital transformation. Plan and deliver cross-functional
        projects on time and on budget, manage risks and dependencies, report to
        stakeholders and steering committees. Tools: Jira and Confluence. PMP or PRINCE2,
        agile experience welcome.""",
    ),
    ad(
        "ops-scrum-master",
        "operations",
        "scrum agile kanban jira mentoring",
        """Scrum Master for two product teams. Facilitate sprint planning, daily
        stand-ups, reviews and retrospectives; remove impediments; coach the teams and
        the product owner in agile practices; introduce Kanban where it fits. PSM I or
        CSM; Jira.""",
    ),
    ad(
        "ops-supply-chain",
        "operations",
        "supply_chain_management inventory_management excel sap data_analysis",
        """Supply Chain Analyst. Monitor stock levels across three warehouses, improve
        demand planning, analyse supplier lead times and build reports in Excel and SAP.
        You are analytical and like solving practical problems with numbers.""",
    ),
    ad(
        "ops-warehouse",
        "operations",
        "logistics inventory_management people_management leadership lean",
        """Warehouse Manager. Run a 20,000 m2 distribution centre with 60 staff across two
        shifts: inbound, picking, outbound freight. Drive safety, accuracy of inventory
        and productivity with lean methods (5S). Proven people leadership.""",
    ),
    # -- people (HR) -------------------------------------------------------------------------
    ad(
        "hr-recruiter",
        "people",
        "recruiting interviewing stakeholder_management communication",
        """Technical Recruiter. Run full-cycle recruiting for engineering roles: intake with
        hiring managers, sourcing on LinkedIn, screening calls, structured interviews and
        offers. You keep candidates and stakeholders informed. Experience with Greenhouse
        or another ATS.""",
    ),
    ad(
        "hr-generalist",
        "people",
        "hr_management employee_relations employment_law hris payroll",
        """HR Generalist. Be the first point of contact for 250 employees: contracts,
        policies, employee relations cases and absence management. Keep our HR system
        (BambooHR) accurate and prepare inputs for payroll. Good knowledge of employment
        law.""",
    ),
    ad(
        "hr-comp-ben",
        "people",
        "compensation_benefits excel people_analytics employment_law",
        """Compensation and Benefits Manager. Design salary bands, run the annual review
        cycle, manage benefits vendors and analyse pay equity with HR analytics.
        Advanced Excel, good understanding of labour law.""",
    ),
    ad(
        "hr-ld",
        "people",
        "learning_development instructional_design presentation_skills adult_learning",
        """Learning and Development Specialist. Assess training needs, design and deliver
        workshops on leadership and feedback, run the onboarding programme and measure
        what sticks. Confident presenter; you know how adults learn.""",
    ),
    # -- product -------------------------------------------------------------------------
    ad(
        "pm-product-manager",
        "product",
        "product_management roadmapping user_stories "
        "product_analytics customer_discovery stakeholder_management",
        """Product Manager - invoicing. Own the roadmap of our invoicing product for small
        businesses. Talk to customers every week (discovery interviews), write user stories
        with acceptance criteria, prioritise the backlog, and measure adoption in Amplitude.
        You align engineering, design and sales stakeholders.""",
    ),
    ad(
        "pm-product-owner",
        "product",
        "user_stories scrum product_management requirements_gathering",
        """Product Owner. Work in a Scrum team of six: refine and prioritise the product
        backlog, write user stories, clarify business requirements with the operations
        department and accept finished work in the sprint review.""",
    ),
    ad(
        "pm-business-analyst",
        "product",
        "business_analysis requirements_gathering "
        "business_process_modeling sql stakeholder_management",
        """Business Analyst. Elicit and document requirements for our core banking
        changes, map processes in BPMN, run workshops with stakeholders and check data with
        SQL. 3+ years as a business analyst in financial services.""",
    ),
    ad(
        "pm-technical-pm",
        "product",
        "product_management api_design system_design roadmapping",
        """Technical Product Manager, Developer Platform. Own our public APIs and SDKs:
        talk to developers, shape the API design with engineering, reason about system
        design trade-offs and keep a clear roadmap. Engineering background preferred.""",
    ),
    # -- sales -------------------------------------------------------------------------------
    ad(
        "sales-sdr",
        "sales",
        "prospecting lead_generation salesforce communication",
        """Sales Development Representative. Book qualified meetings for our account
        executives: research accounts, cold calling and cold emailing, qualify inbound
        leads and log everything in Salesforce. Resilient, curious and a good
        communicator.""",
    ),
    ad(
        "sales-ae",
        "sales",
        "b2b_sales negotiation pipeline_management salesforce solution_selling presentation_skills",
        """Account Executive, mid-market. Own a quota and the full sales cycle: discovery,
        product demos, proposals, negotiation and close. Keep an accurate pipeline in
        Salesforce; MEDDICC or similar consultative selling. 3+ years of SaaS sales.""",
    ),
    ad(
        "sales-account-manager",
        "sales",
        "account_management negotiation crm communication",
        """Account Manager. Look after 60 existing customers: renewals, upselling and
        cross-selling, quarterly business reviews and contract negotiation. You keep our
        CRM up to date and communicate well at every level.""",
    ),
    ad(
        "sales-sales-ops",
        "sales",
        "sales_operations salesforce pipeline_management excel data_analysis",
        """Sales Operations Manager. Run RevOps for a 40-person sales team: territory
        planning, Salesforce administration, sales forecasting and commission data.
        Strong Excel and data analysis.""",
    ),
    # -- security -------------------------------------------------------------------------
    ad(
        "sec-soc-analyst",
        "security",
        "security_operations siem splunk incident_response network_security",
        """Security Analyst (SOC). Monitor alerts in our SIEM (Splunk), triage and
        investigate incidents, escalate and help contain them, and tune detections. You
        understand networks, firewalls and common attack techniques. Shift work.""",
    ),
    ad(
        "sec-pentester",
        "security",
        "penetration_testing application_security owasp network_security python",
        """Penetration Tester. Perform web application, API and network penetration tests
        for our clients, write clear reports with remediation advice, and build small
        tools in Python. Deep knowledge of the OWASP Top 10; OSCP required.""",
    ),
    ad(
        "sec-grc",
        "security",
        "iso27001 soc2 security_risk gdpr regulatory_compliance",
        """GRC Analyst. Run our ISO 27001 ISMS and SOC 2 Type II audits, maintain the risk
        register and policies, answer customer security questionnaires and support GDPR
        compliance work.""",
    ),
    ad(
        "sec-cloud-security",
        "security",
        "cloud_security aws iam terraform kubernetes",
        """Cloud Security Engineer. Secure our AWS accounts: IAM least privilege, CSPM,
        guardrails in Terraform, Kubernetes hardening and security reviews of new
        services.""",
    ),
    # -- customer success -------------------------------------------------------------------
    ad(
        "cs-csm",
        "customer_success",
        "customer_success customer_retention "
        "customer_onboarding account_management customer_feedback",
        """Customer Success Manager. Guide 40 B2B customers from onboarding to renewal:
        adoption plans, business reviews, churn reduction and expansion opportunities.
        Track NPS and customer health and bring the voice of the customer to product.""",
    ),
    ad(
        "cs-support-rep",
        "customer_success",
        "customer_support zendesk communication troubleshooting",
        """Customer Support Representative. Answer customers by chat, email and phone,
        handle support tickets in Zendesk, troubleshoot account issues and escalate bugs.
        Friendly written communication in English and German.""",
    ),
    ad(
        "cs-support-engineer",
        "customer_success",
        "customer_support troubleshooting sql linux rest_api",
        """Support Engineer. Solve technical cases from our enterprise customers: read
        logs on Linux, query data with SQL, reproduce REST API issues and work with
        engineering on fixes. Customer service mindset.""",
    ),
    ad(
        "cs-implementation",
        "customer_success",
        "customer_onboarding project_management communication",
        """Implementation Specialist. Lead new customers through the set-up of our HR
        software: kick-off, data migration, configuration and training. You run several
        projects at once and communicate clearly.""",
    ),
)

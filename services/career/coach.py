"""The built-in career coach: what the question asks, the facts that answer it, and the
plain sentences that say them (pure and synchronous: it runs in the CPU pool).

``coach_facts`` works out the intent of a message (next role, gaps toward a target,
time to get there, which course next, what a role does, or off-topic) and the facts that
answer it from the profile, the catalog, the user's latest learning path and the courses
they have started or finished. The AI provider gets the same facts in its data section;
``render`` turns them into the built-in coach's answer when no provider answers.
Scores come from the one scoring function (``LocalCareerEngine.person_match``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from services.career.catalog import Catalog, Course, Role
from services.career.courses import profile_weekly_hours
from services.career.scoring import article, join_names
from services.career.taxonomy import SkillExtractor

LABEL = "Built-in coach: "
NEXT_ROLE, GAPS, TIME, NEXT_COURSE, ROLE_INFO, OFF_TOPIC, OVERVIEW = (
    "next_role",
    "gaps",
    "time",
    "next_course",
    "role_info",
    "off_topic",
    "overview",
)
_HOURS = re.compile(
    r"\b(\d{1,2}(?:[.,]\d)?)\s*(?:h|hrs?|hours?)\b(?:\s*(?:a|per|each|/)\s*week)?", re.I
)


def _any(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(phrases), re.I)


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (ROLE_INFO, _any(r"\bwhat (?:does|do) (?:an? )?.+\bdo\b", r"\bwhat is an? ", "tell me about")),
    (
        NEXT_COURSE,
        _any(
            r"\b(?:which|what) course",
            "course next",
            "next course",
            "study next",
            "learn next",
            "start with",
        ),
    ),
    (
        TIME,
        _any(
            r"\bhow long\b",
            r"\bhow many weeks\b",
            r"\bhow much time\b",
            r"\bwhen (?:can|will) i\b",
            r"\bafraid\b",
            r"\bscared\b",
            r"\bworried\b",
            r"\bnervous\b",
            r"\bintimidat",
        ),
    ),
    (
        GAPS,
        _any(
            r"\bgaps?\b",
            r"\bmissing\b",
            r"\bwhat (?:skills|do i need)\b",
            r"\black\b",
            r"\bprepare for\b",
            r"\bready for\b",
        ),
    ),
    (
        NEXT_ROLE,
        _any(
            r"\bnext role\b",
            r"\bwhat role\b",
            r"\bwhich role\b",
            r"\bnext job\b",
            r"\bcareer move\b",
            r"\bpromotion\b",
            r"\bnext step\b",
            r"\bwhat (?:job|position)\b",
            r"\bswitch\b",
            r"\bmove (?:to|into)\b",
        ),
    ),
)
_CAREER_WORDS = re.compile(
    r"\b(?:career|role|job|work|skill|skills|learn|learning|course|courses|study|path|"
    r"promotion|interview|cv|resume|hours?|week|gap|gaps|become|transition|manager|"
    r"engineer|developer|analyst|designer|team|salary|experience|portfolio|certificat\w*|"
    r"mentor|goal|goals|next)\b",
    re.I,
)


class PersonMatcher(Protocol):
    """What the coach needs of the engine: the one score of a role for a person."""

    def person_match(self, profile: Mapping[str, Any] | None, role: Role) -> dict[str, Any]: ...

    def person_ranking(
        self, profile: Mapping[str, Any] | None, hint: str = ""
    ) -> list[dict[str, Any]]: ...


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _weeks(hours: float, weekly: float) -> int:
    return max(1, math.ceil(hours / max(weekly, 0.5)))


class Coach:
    """Works out the facts of an answer and renders them as sentences."""

    def __init__(self, catalog: Catalog, extractor: SkillExtractor, engine: PersonMatcher) -> None:
        self.catalog = catalog
        self.extractor = extractor
        self.engine = engine
        # longest titles first, so "Senior Data Engineer" wins over "Data Engineer"
        self._titles = sorted(catalog.roles, key=lambda r: -len(r.title))

    # -- facts -------------------------------------------------------------------------
    def _role_in(self, message: str) -> Role | None:
        low = f" {message.casefold()} "
        for role in self._titles:
            if re.search(rf"(?<![\w]){re.escape(role.title.casefold())}s?(?![\w])", low):
                return role
        return None

    def intent(self, message: str, role: Role | None, skills: Sequence[str]) -> str:
        """The question's intent; off-topic when nothing in it is about work or learning."""
        for name, pattern in _PATTERNS:
            if pattern.search(message):
                if name == ROLE_INFO and role is None:
                    continue
                return name
        if not (_CAREER_WORDS.search(message) or role is not None or skills):
            return OFF_TOPIC
        if _HOURS.search(message):
            return TIME
        return GAPS if role is not None else OVERVIEW

    def facts(
        self,
        message: str,
        profile: Mapping[str, Any],
        path: Mapping[str, Any] | None = None,
        done_courses: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Everything an answer to ``message`` may say, as plain data (no prose)."""
        named_role = self._role_in(message)
        skills = self._asked(message, profile)
        intent = self.intent(message, named_role, skills)
        hours = _HOURS.search(message)
        weekly = float(hours.group(1).replace(",", ".")) if hours else profile_weekly_hours(profile)
        facts: dict[str, Any] = {
            "intent": intent,
            "weekly_hours": weekly,
            "current_role": profile.get("current_role") or None,
            "profile_skills": [self.catalog.skill_name(s) for s in self._known(profile)],
        }
        if intent == OFF_TOPIC:
            return facts
        ranking = self.engine.person_ranking(profile, message)
        facts["next_roles"] = ranking[:3]
        target = named_role
        if target is None and path:
            target = self.catalog.role(str((path.get("target_role") or {}).get("role_id", "")))
        if target is None and ranking:
            target = self.catalog.role(ranking[0]["role_id"])
        if target is not None:
            match = self.engine.person_match(profile, target)
            facts["target"] = {
                **match,
                "description": target.description,
                "experience_level": target.experience_level,
                "from_path": named_role is None and bool(path),
            }
        # the skills the message asks about (even known ones: "I'm afraid of Spark"),
        # else the target role's gaps
        focus = list(skills)
        if not focus and target is not None:
            focus = [s for s in target.skill_ids if s not in self._known(profile)]
        done = set(done_courses)
        plan = self._plan(focus[:6], done, path)
        facts["focus_skills"] = [self.catalog.skill_name(s) for s in focus[:6]]
        facts["asked_skills"] = [self.catalog.skill_name(s) for s in skills]
        facts["courses"] = [c.summary() | {"skill": skill} for skill, c in plan]
        total = sum(c.duration_hours for _, c in plan)
        facts["plan_hours"] = round(total, 1)
        facts["plan_weeks"] = _weeks(total, weekly) if plan else 0
        facts["courses_done"] = len(done)
        return facts

    def _asked(self, message: str, profile: Mapping[str, Any]) -> list[str]:
        """Skills the message names, read with the profile's skills as context: in a
        data person's chat "Spark" is Apache Spark even with no other tech word."""
        listed = [s for s in profile.get("skills") or [] if isinstance(s, str)]
        text = f"{message}\nSkills: {', '.join(listed)}." if listed else message
        low = message.casefold()
        return [m.skill for m in self.extractor.read(text) if m.words.casefold() in low]

    def _known(self, profile: Mapping[str, Any]) -> list[str]:
        skills = [s for s in profile.get("skills") or [] if isinstance(s, str)]
        return self.extractor.normalize_many(skills)

    def _plan(
        self, skills: Sequence[str], done: set[str], path: Mapping[str, Any] | None
    ) -> list[tuple[str, Course]]:
        """One course per skill, easiest first, skipping finished ones; the user's own
        learning path goes first when it has a course they have not finished."""
        plan: list[tuple[str, Course]] = []
        for milestone in (path or {}).get("milestones") or []:
            for item in milestone.get("courses") or []:
                course = self.catalog.course(str(item.get("course_id", "")))
                if course is not None and course.id not in done:
                    skill = (milestone.get("skills") or [""])[0]
                    return [(str(skill), course), *self._plan(skills, done | {course.id}, None)]
        for sid in skills:
            for course in self.catalog.courses_for_skill(sid):
                if course.id not in done:
                    plan.append((self.catalog.skill_name(sid), course))
                    break
        return plan

    # -- prose -------------------------------------------------------------------------
    def render(self, facts: Mapping[str, Any]) -> list[str]:
        """The built-in coach's answer as sentences (the first one carries its label)."""
        intent = facts.get("intent")
        if intent == OFF_TOPIC:
            return [
                LABEL + "I can only help with your career.",
                "Ask me which role could come next, which skills you are missing for a role, "
                "how long it would take at your weekly hours, or which course to take next.",
            ]
        target = facts.get("target")
        courses = list(facts.get("courses") or [])
        lines: list[str] = []
        if intent == NEXT_ROLE or (intent == OVERVIEW and facts.get("next_roles")):
            lines += self._next_roles(facts)
        elif intent == ROLE_INFO and target:
            lines += self._role_info(target)
        elif intent == TIME:
            lines += self._time(facts, target, courses)
        elif intent == NEXT_COURSE:
            lines += self._next_course(courses)
        if intent in (GAPS, ROLE_INFO, OVERVIEW) and target:
            lines += self._gaps(target, facts.get("current_role"))
        if intent in (GAPS, NEXT_ROLE, OVERVIEW) and courses:
            lines += self._next_course(courses[:1])
        if not lines:
            lines = [
                "Tell me the role you are aiming for, or add your skills to your profile, "
                "and I can say what to learn and for how long."
            ]
        lines[0] = LABEL + lines[0]
        return lines

    def _next_roles(self, facts: Mapping[str, Any]) -> list[str]:
        roles = list(facts.get("next_roles") or [])
        if not roles:
            return ["Add your skills to your profile and I can suggest the roles that fit."]
        best = roles[0]
        current = facts.get("current_role")
        who = f"As {article(current)} {current}" if current else "From your profile"
        lines = [
            f"{who}, the role that fits you best next is {best['title']} "
            f"({best['match_score']}/100, a {best['fit']} fit)."
        ]
        if best["missing"]:
            lines.append(f"To get there, build {join_names(best['missing'][:3])}.")
        others = [f"{r['title']} ({r['match_score']}/100)" for r in roles[1:3]]
        if others:
            lines.append(f"Also worth a look: {join_names(others)}.")
        return lines

    def _role_info(self, target: Mapping[str, Any]) -> list[str]:
        title = target["title"]
        return [
            f"{article(title).capitalize()} {title}: {target['description']}",
            f"It is {article(target['experience_level'])} {target['experience_level']}-level "
            f"role, and you fit it at {target['match_score']}/100 ({target['fit']}).",
        ]

    def _gaps(self, target: Mapping[str, Any], current: str | None) -> list[str]:
        title, missing = target["title"], list(target["missing"])
        if target.get("from_path"):
            lead = "On your learning path toward"
        else:
            lead = f"From {current} to" if current and current != title else "For"
        if not missing:
            return [f"{lead} {title} your profile already covers every required skill."]
        have = list(target.get("covered") or [])
        lines = [
            f"{lead} {title} ({target['match_score']}/100, a {target['fit']} fit) you are "
            f"missing {join_names(missing[:5])}."
        ]
        if have:
            lines.append(f"You already bring {join_names(have[:4])}.")
        return lines

    def _time(
        self, facts: Mapping[str, Any], target: Mapping[str, Any] | None, courses: list[Any]
    ) -> list[str]:
        weekly = facts["weekly_hours"]
        asked = list(facts.get("asked_skills") or [])
        lines: list[str] = []
        if asked:
            known = set(facts.get("profile_skills") or [])
            have = [a for a in asked if a in known]
            lines.append(
                f"Being wary of {join_names(asked)} is normal"
                + (", and your profile already lists it" if have else "")
                + ": it is learnable in small steps, basics first, one short course at a time."
            )
        if not courses:
            lines.append("Your profile already covers what this needs, so no course is due.")
            return lines
        first = courses[0]
        lines.append(
            f"Start with {first['title']} ({first['provider']}, {first['duration_hours']:g} h, "
            f"{first['difficulty']}): at {weekly:g} h a week that is about "
            f"{_plural(_weeks(first['duration_hours'], weekly), 'week')}."
        )
        goal = (
            f"for {join_names(asked)}"
            if asked
            else f"toward {target['title']}"
            if target
            else "for these skills"
        )
        lines.append(
            f"The whole plan {goal} is {_plural(len(courses), 'course')}, "
            f"{facts['plan_hours']:g} h: about {_plural(facts['plan_weeks'], 'week')} "
            f"at {weekly:g} h a week."
        )
        return lines

    def _next_course(self, courses: list[Any]) -> list[str]:
        if not courses:
            return ["You have finished every course I would suggest here; well done."]
        first = courses[0]
        skill = f" for {first['skill']}" if first.get("skill") else ""
        return [
            f"Take {first['title']} next{skill}: {first['provider']}, "
            f"{first['duration_hours']:g} hours, {first['difficulty']} level."
        ]

"""Duplicate check at scale: N synthetic Québec contacts in the store, then 1,000 submissions.

Builds N contacts (French first names with accents, compound first names, double surnames, the
common surnames Tremblay, Gagnon, Roy, Côté… and a long tail, emails, phones, birth dates, client
numbers) with their blocking keys (bulk inserts: COPY on PostgreSQL, executemany on SQLite, keys
computed by ``duplicates.keys.contact_keys`` on every core), then times
``duplicates.service.find_candidates`` for 1,000 new submissions (half near-duplicates of a stored
contact with typos, accents, swaps…, half new people) and prints one table beside a baseline
measured in the same run: a full scan of every normalised name with ``rapidfuzz.process.cdist``
(workers=2). The check and the baseline each run in a fresh process, so each peak RSS is its own.
A script that prints figures, never a timed test::

    .venv/bin/python -m bench.duplicates --contacts 200000
    .venv/bin/python -m bench.duplicates --database sqlite:////tmp/dup.sqlite3 --reuse
    .venv/bin/python -m bench.duplicates --start-postgres
    .venv/bin/python -m bench.duplicates --database postgresql+psycopg://postgres@127.0.0.1/db

Needs numpy (rapidfuzz's ``cdist`` returns an array). Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import resource
import shlex
import sqlite3
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from bench.common import database_url, manual_app

# id, first name, last name, birth date, email, phone (as stored), client number
Row = tuple[int, str, str, dt.date, str | None, str | None, str | None]


# --------------------------------------------------------------------------- synthetic people
def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text``."""
    return tuple(text.split())


# Québec first names of the last eighty years, most frequent first (weights are Zipf-like).
FIRST_NAMES = _words(
    """
Marie Jean Nathalie Pierre Isabelle Michel Julie Sylvie André Martin Chantal Daniel Stéphane
Manon Luc Sophie François Josée Alain Lucie Claude Line Éric Johanne Richard Diane Denis Nicole
Mario Louise Serge Francine Robert Céline Yves Hélène Guy Geneviève Marc Mélanie Normand
Stéphanie Patrick Catherine Sylvain Caroline Jacques Annie Gilles Karine Réal Valérie Mathieu
Émilie Maxime Audrey Alexandre Véronique Simon Andrée Sébastien Ginette Jonathan Danielle David
Monique Nicolas Lise Philippe Suzanne Samuel Carole Gabriel Jocelyne William Martine Olivier
Brigitte Félix Amélie Étienne Camille Benoît Léa Jérôme Chloé Hugo Rosalie Louis Florence
Raymond Maude Gaétan Noémie Rémi Josiane Frédéric Marjolaine Raphaël Ariane Antoine Laurence
Thomas Justine Vincent Joanie Guillaume Kim Yannick Pascale Dominic Mireille Francis Nancy Steve
Sonia Christian Lyne Bruno Claudette Ghislain Thérèse Roger Yvette Lucien Pierrette Germain
Huguette Rosaire Gisèle Léo Jeannine Zoé Béatrice Loïc Océane Mohamed Fatima Ahmed Amina Carlos
Ana Wei Mei Dmitri Olga Rajesh Priya Jean-Baptiste Édouard Anaïs Maëlle Joël Cédric Gaëlle Noël
Xavier Charles Émile Arnaud Mathis Nathan Jacob Logan Zachary Tristan Malik Adam Elliot Victor
Édith Colette Odette Rolande Laurent Marcel Fernand Henri Adrien Bernard Clément Damien Fabien
Gérald Hervé Irène Jacinthe Lorraine Micheline Nadia Paule Renée Sandrine Tania Yolande Alice
Charlotte Juliette Clara Emma Olivia Eva Marguerite Simone Agathe Inès Yasmine Leila Sofia
Hassan Karim Youssef Ali Omar Kevin Jessica Cindy Vicky Marco
"""
)
COMPOUND_HEADS = (("Marie", "f"), ("Jean", "m"), ("Anne", "f"), ("Pierre", "m"), ("Marc", "m"))
FEMININE_TAILS = _words(
    """
Ève Claude Josée Hélène Pier France Christine Soleil Karine Andrée Noëlle Lou Michèle Élise
Sophie Julie Laure Pascale
"""
)
MASCULINE_TAILS = _words(
    """
François Philippe Sébastien André Luc Guy Marc Olivier Michel Yves Pierre Denis Simon Benoît
Antoine Alexandre Étienne
"""
)
# The most frequent Québec surnames first (Tremblay ≈ 1 % of the population).
SURNAMES = _words(
    """
Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier Bélanger
Lévesque Bergeron Leblanc Paquette Girard Simard Boucher Caron Beaulieu Cloutier Dubé Poirier
Fournier Lapointe Leclerc Lefebvre Poulin Thibault St-Pierre Nadeau Martin Landry Martel Bédard
Grenier Lessard Bernier Richard Michaud Hébert Desjardins Couture Turcotte Lachance Parent Blais
Gosselin Savard Proulx Beaudoin Demers Perron Boudreau Lemieux Cyr Perreault Dufour Dion Mercier
Bolduc Bérubé Boivin Langlois Ménard Dumont Lacroix Paré Vachon Rousseau Lemay Charbonneau
Dupuis Thériault Guay Sirois Dumas Lacasse Brunet Champagne Rioux Vaillancourt Tardif Labelle
Marchand Allard Lepage Pépin Harvey Laflamme Brassard Létourneau Deschênes Labrecque Picard
Plante Giroux Robitaille Boisvert Hamel Gilbert Houle Drouin Fontaine Lalonde Larouche Denis
Chabot Émond Lebel Sauvé Larocque D'Amours L'Heureux O'Neill Painchaud Després Séguin Duchesne
Ste-Marie Thibeault Thibodeau Ouellette Gendron Jean Paradis Audet Bourque Nguyen Tran Singh
Haddad Rodriguez Wong Khoury Joseph
"""
)
SURNAME_SHARE = 0.25  # the listed surnames; the rest of the population has a tail surname
# The long tail: about 12,000 French-sounding surnames made of three parts.
TAIL_STARTS = _words(
    """
Bel Bou Char Del Des Fon Gal Gre Lar Lau Mar Mon Pel Ro Ri Sa Tur Val Ver Vil Ber Bru Cha Dro Fa
Go La Le Mé No Pa Po Que Ré Tes Thi Ga Bé
"""
)
TAIL_MIDDLES = (
    "",
    *_words(
        """
la li ro ne ni va be mo ran din lan ton ber que
"""
    ),
)
TAIL_ENDS = _words(
    """
rd ault eau ier ette on ois in ard el et ert and ot y é elle ville court ière eux
"""
)
DOMAINS = _words(
    """
videotron.ca gmail.com hotmail.com outlook.com sympatico.ca yahoo.ca globetrotter.net
cgocable.ca bell.net icloud.com
"""
)
AREA_CODES = ("514", "438", "450", "579", "418", "581", "819", "873", "367")
FIRST_DAY = dt.date(1935, 1, 1)
DAYS = 26_000  # birth dates from 1935 to 2006


def _cumulative(n: int, exponent: float) -> list[float]:
    total, out = 0.0, []
    for i in range(n):
        total += 1.0 / (i + 1) ** exponent
        out.append(total)
    return out


def strip_accents(s: str) -> str:
    """``Hélène`` → ``Helene``."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _slug(s: str) -> str:
    return "".join(c for c in strip_accents(s).lower() if c.isalnum())


class People:
    """A deterministic source of synthetic Québec persons."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # Calibrated on Québec: Tremblay ≈ 1.1 % of the population, the commonest first name ≈ 2 %.
        self.first_cum = _cumulative(len(FIRST_NAMES), 0.4)
        self.surname_cum = _cumulative(len(SURNAMES), 0.5)
        self.tail = [a + b + c for a in TAIL_STARTS for b in TAIL_MIDDLES for c in TAIL_ENDS]

    def first_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.12:  # Marie-Ève, Jean-François…
            head, gender = rng.choice(COMPOUND_HEADS)
            tails = FEMININE_TAILS if gender == "f" else MASCULINE_TAILS
            return f"{head}-{rng.choice(tails)}"
        return rng.choices(FIRST_NAMES, cum_weights=self.first_cum)[0]

    def surname(self) -> str:
        rng = self.rng
        if rng.random() < SURNAME_SHARE:
            return rng.choices(SURNAMES, cum_weights=self.surname_cum)[0]
        return rng.choice(self.tail)

    def last_name(self) -> str:
        last = self.surname()
        if self.rng.random() < 0.07:  # Tremblay-Gagnon
            other = self.surname()
            if other != last:
                last = f"{last}-{other}"
        return last

    def birth_date(self) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.rng.randrange(DAYS))

    def email(self, first: str, last: str, unique: int) -> str:
        rng = self.rng
        style = rng.random()
        if style < 0.5:
            local = f"{_slug(first)}.{_slug(last)}.{unique:x}"
        elif style < 0.8:
            local = f"{_slug(first)[:1]}{_slug(last)}{unique}"
        else:
            local = f"{_slug(last)}.{_slug(first)}{unique % 100}.{unique:x}"
        return f"{local}@{rng.choice(DOMAINS)}"

    def phone(self) -> str:
        rng = self.rng
        area, exchange, line = (
            rng.choice(AREA_CODES),
            rng.randrange(200, 1000),
            rng.randrange(10000),
        )
        style = rng.random()
        if style < 0.7:
            return f"{area} {exchange}-{line:04d}"  # as the forms store it
        if style < 0.85:
            return f"({area}) {exchange}-{line:04d}"
        if style < 0.95:
            return f"{area}-{exchange}-{line:04d}"
        return f"+1 {area} {exchange} {line:04d}"

    def contact(self, contact_id: int, unique: int) -> Row:
        rng = self.rng
        first, last = self.first_name(), self.last_name()
        email = self.email(first, last, unique) if rng.random() < 0.85 else None
        phone = self.phone() if rng.random() < 0.9 else None
        client_number = str(5_000_000 + contact_id) if rng.random() < 0.4 else None
        return (contact_id, first, last, self.birth_date(), email, phone, client_number)


def generate_contacts(n: int, seed: int) -> list[Row]:
    """N contacts with ids 1..N."""
    people = People(seed)
    return [people.contact(i, i) for i in range(1, n + 1)]


# --------------------------------------------------------------------------- the submissions

LETTERS = "abcdefghijklmnopqrstuvwxyzéè"


def typo(rng: random.Random, s: str) -> str:
    """One keyboard slip (substitution, deletion, insertion or transposition), rarely on the
    first letter."""
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    if len(letters) < 3:
        return s
    i = rng.choice(letters if rng.random() < 0.1 else letters[1:])
    op = rng.choice(("sub", "del", "ins", "swap"))
    if op == "sub":
        new = rng.choice([c for c in LETTERS if c != s[i].lower()])
        return s[:i] + (new.upper() if s[i].isupper() else new) + s[i + 1 :]
    if op == "del":
        return s[:i] + s[i + 1 :]
    if op == "ins":
        return s[:i] + rng.choice(LETTERS) + s[i:]
    j = i + 1 if i + 1 < len(s) and s[i + 1].isalpha() else i - 1
    a, b = sorted((i, j))
    return s[:a] + s[b] + s[a] + s[b + 1 :]


def _shorten(name: str) -> str | None:
    parts = [p for p in name.replace("-", " ").split() if p]
    return parts[-1] if len(parts) > 1 else None


# How a submitter types again the name of a person already known, with weights: a third of the
# near-duplicates carry a typo.
NAME_CHANGES = (
    ("accents", 25),
    ("typo_last", 15),
    ("typo_first", 15),
    ("swapped", 10),
    ("hyphen", 10),
    ("case", 10),
    ("shortened", 5),
    ("typo_and_accents", 5),
    ("same", 5),
)


def _change_name(rng: random.Random, first: str, last: str) -> tuple[str, str, str]:
    """The name as typed again, and which change it went through."""
    change = rng.choices([c for c, _ in NAME_CHANGES], weights=[w for _, w in NAME_CHANGES])[0]
    if change == "accents":
        if strip_accents(first + last) != first + last:
            return strip_accents(first), strip_accents(last), change
        change = "case"
    if change == "hyphen":
        if "-" in first or "-" in last:
            return first.replace("-", " "), last.replace("-", rng.choice((" ", ""))), change
        change = "typo_first"
    if change == "shortened":
        short = _shorten(first)
        if short is not None:
            return short, last, change
        short = _shorten(last)
        if short is not None:
            return first, short, change
        change = "typo_first"
    if change == "case":
        return first.lower(), last.upper(), change
    if change == "typo_last":
        return first, typo(rng, last), change
    if change == "typo_first":
        return typo(rng, first), last, change
    if change == "typo_and_accents":
        return strip_accents(first), typo(rng, strip_accents(last)), change
    if change == "swapped":
        return last, first, change
    return first, last, change


def _one_digit_off(born: dt.date) -> dt.date:
    day = born.day + 1 if born.day % 10 != 9 and born.day < 28 else born.day - 1
    return born.replace(day=day)


def _e164(stored: str | None) -> str | None:
    from catalogue_svc.duplicates.normalise import normalize_phone
    from catalogue_svc.duplicates.people import stored_phone

    return normalize_phone(stored_phone("+1", stored)) if stored else None


def near_duplicate(rng: random.Random, people: People, row: Row, unique: int) -> dict[str, Any]:
    """A submission of the stored person ``row``, typed again with the usual differences.

    The form requires the birth date and the email: the date is right but for 6 % (day and month
    swapped, or one digit off); the email is the stored one half of the time, else another.
    """
    _, first, last, born, email, phone, client_number = row
    first, last, change = _change_name(rng, first, last)
    r = rng.random()
    birth_date = born
    if r < 0.03 and born.day <= 12 and born.day != born.month:
        birth_date = born.replace(month=born.day, day=born.month)
    elif r < 0.06:
        birth_date = _one_digit_off(born)
    if rng.random() < 0.5 and email:
        new_email = email.upper() if rng.random() < 0.2 else email
    else:
        new_email = people.email(first, last, unique)
    r = rng.random()
    phones = [_e164(phone)] if r < 0.35 and phone else [] if r < 0.7 else [_e164(people.phone())]
    return {
        "first_name": first,
        "last_name": last,
        "birth_date": birth_date,
        "email": new_email,
        "phones": [p for p in phones if p],
        "client_number": client_number if client_number and rng.random() < 0.35 else None,
        "_change": change,
    }


def new_person(people: People, unique: int) -> dict[str, Any]:
    """A submission of someone the store does not know."""
    _, first, last, born, _, phone, _ = people.contact(0, unique)
    email = people.email(first, last, unique)
    return {
        "first_name": first,
        "last_name": last,
        "birth_date": born,
        "email": email,
        "phones": [p for p in [_e164(phone)] if p],
        "client_number": None,
        "_change": "new",
    }


def make_probes(rows: Sequence[Row], n: int, seed: int) -> list[tuple[dict[str, Any], int | None]]:
    """``n`` submissions, shuffled: half near-duplicates (with the id they duplicate), half new."""
    rng = random.Random(seed)
    people = People(seed + 1)
    probes: list[tuple[dict[str, Any], int | None]] = []
    for k in range(n):
        unique = 100_000_000 + seed * 1_000_000 + k
        if k % 2 == 0:
            row = rows[rng.randrange(len(rows))]
            probes.append((near_duplicate(rng, people, row, unique), row[0]))
        else:
            probes.append((new_person(people, unique), None))
    rng.shuffle(probes)
    return probes


# --------------------------------------------------------------------------- building the store


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def keys_of_rows(job: tuple[Sequence[Row], bool]) -> tuple[int, Any]:
    """(number of keys, the keys) of a chunk of rows: COPY text, or (key, contact_id) tuples."""
    from catalogue_svc.duplicates.keys import contact_keys
    from catalogue_svc.duplicates.matching import Person
    from catalogue_svc.duplicates.people import stored_phone

    rows, as_text = job
    pairs: list[tuple[str, int]] = []
    for contact_id, first, last, born, email, phone, client_number in rows:
        phones = (stored_phone("+1", phone),) if phone else ()
        person = Person(first, last, born, email, phones, client_number, contact_id)  # type: ignore[arg-type]
        pairs.extend((key, contact_id) for key in contact_keys(person))
    if as_text:
        return len(pairs), "".join(f"{_copy_text(k)}\t{i}\n" for k, i in pairs)
    return len(pairs), pairs


def _key_chunks(rows: Sequence[Row], workers: int, as_text: bool) -> Iterator[tuple[int, Any]]:
    jobs = ((chunk, as_text) for chunk in _chunks(rows, 5000))
    if workers <= 1:
        yield from map(keys_of_rows, jobs)
        return
    with mp.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(keys_of_rows, jobs, chunksize=1)


class Timer:
    """Named durations of the build, printed at the end."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.laps.append((name, now - since))
        print(f"  {name}: {now - since:.1f} s", flush=True)
        return now


def build_sqlite(path: str, rows: Sequence[Row], workers: int, timer: Timer) -> int:
    """Fill a fresh SQLite store (schema already created) with raw executemany; returns keys."""
    from catalogue_svc.duplicates.models import ContactMatchKey

    table = ContactMatchKey.__table__
    [contact_index] = [ix.name for ix in table.indexes]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-1000000",
        "temp_store=MEMORY",
        "foreign_keys=OFF",
    ):
        conn.execute(f"PRAGMA {pragma}")
    t = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO contacts (id, client_number, first_name, last_name, birth_date, language,"
        " email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'fr', ?, ?, ?)",
        ((r[0], r[6], r[1], r[2], r[3].isoformat(), r[4], now, now) for r in rows),
    )
    conn.executemany(
        "INSERT INTO contact_phones (contact_id, position, type, territory, country_code, number)"
        " VALUES (?, 0, 'principal', 'Amérique du Nord', '+1', ?)",
        ((r[0], r[5]) for r in rows if r[5]),
    )
    conn.execute("COMMIT")
    t = timer.lap("contacts and phones inserted", t)
    conn.execute("CREATE TABLE bench_keys (key TEXT, contact_id INTEGER)")
    conn.execute("BEGIN")
    count = 0
    for n, pairs in _key_chunks(rows, workers, as_text=False):
        conn.executemany("INSERT INTO bench_keys VALUES (?, ?)", pairs)
        count += n
    conn.execute("COMMIT")
    t = timer.lap(f"{count:,} keys computed and staged", t)
    # Rows in key order fill the WITHOUT ROWID table (its own index) page after page.
    conn.execute("BEGIN")
    conn.execute(f"DROP INDEX {contact_index}")
    conn.execute(
        "INSERT INTO contact_match_keys (key, contact_id) "
        "SELECT key, contact_id FROM bench_keys ORDER BY key, contact_id"
    )
    conn.execute(f"CREATE INDEX {contact_index} ON contact_match_keys (contact_id)")
    conn.execute("DROP TABLE bench_keys")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("VACUUM")
    conn.close()
    timer.lap("key table sorted, indexed, analysed", t)
    return count


def build_postgres(engine: Any, rows: Sequence[Row], workers: int, timer: Timer) -> int:
    """Fill a fresh PostgreSQL store with COPY; the key table's indexes are built afterwards."""
    from catalogue_svc.duplicates.models import ContactMatchKey

    table = ContactMatchKey.__table__
    pk = table.primary_key.name
    [fk] = list(table.foreign_key_constraints)
    [contact_index] = [ix.name for ix in table.indexes]
    now = dt.datetime.now(dt.UTC)
    raw = engine.raw_connection()
    conn = raw.driver_connection
    t = time.perf_counter()
    with conn.cursor() as cur:
        with cur.copy(
            "COPY contacts (id, client_number, first_name, last_name, birth_date, "
            "language, email, created_at, updated_at) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row((r[0], r[6], r[1], r[2], r[3], "fr", r[4], now, now))
        with cur.copy(
            "COPY contact_phones (contact_id, position, type, territory, "
            "country_code, number) FROM STDIN"
        ) as copy:
            for r in rows:
                if r[5]:
                    copy.write_row((r[0], 0, "principal", "Amérique du Nord", "+1", r[5]))
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
            "(SELECT max(id) FROM contacts))"
        )
        conn.commit()
        t = timer.lap("contacts and phones copied", t)
        cur.execute(f"ALTER TABLE contact_match_keys DROP CONSTRAINT {pk}")
        cur.execute(f"ALTER TABLE contact_match_keys DROP CONSTRAINT {fk.name}")
        cur.execute(f"DROP INDEX {contact_index}")
        count = 0
        with cur.copy("COPY contact_match_keys (key, contact_id) FROM STDIN") as copy:
            for n, text in _key_chunks(rows, workers, as_text=True):
                copy.write(text)
                count += n
        conn.commit()
        t = timer.lap(f"{count:,} keys computed and copied", t)
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute(
            f"ALTER TABLE contact_match_keys ADD CONSTRAINT {pk} PRIMARY KEY (key, contact_id)"
        )
        cur.execute(f"CREATE INDEX {contact_index} ON contact_match_keys (contact_id)")
        cur.execute(
            f"ALTER TABLE contact_match_keys ADD CONSTRAINT {fk.name} FOREIGN KEY "
            "(contact_id) REFERENCES contacts (id) ON DELETE CASCADE"
        )
        conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        # VACUUM sets the visibility map: the block query is then an index-only scan.
        cur.execute("VACUUM ANALYZE contact_match_keys")
        cur.execute("VACUUM ANALYZE contacts")
        cur.execute("VACUUM ANALYZE contact_phones")
    conn.autocommit = False
    raw.close()
    timer.lap("key table indexed, vacuumed, analysed", t)
    return count


def build(url: str, rows: Sequence[Row], workers: int, timer: Timer) -> int:
    """A fresh schema holding ``rows`` and their keys; returns the number of keys."""
    from sqlalchemy.engine import make_url

    from catalogue_svc.db import db

    app = manual_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            count = build_postgres(db.engine, rows, workers, timer)
        else:
            db.engine.dispose()
            database = make_url(url).database
            assert database
            count = build_sqlite(database, rows, workers, timer)
        db.engine.dispose()
    return count


def stored_count(url: str) -> int:
    """Contacts in the store (0 when there is no schema)."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from catalogue_svc.db import db
    from catalogue_svc.profiles.models import Contact

    app = manual_app(url)
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Contact)) or 0
        except SQLAlchemyError:
            return 0
        finally:
            db.session.remove()
            db.engine.dispose()


def keys_match_refresh(url: str, sample: int, seed: int) -> bool:
    """Whether the bulk-built keys equal what ``refresh_keys`` writes, on a sample (rolled back)."""
    from sqlalchemy import func, select

    from catalogue_svc.db import db
    from catalogue_svc.duplicates.keys import refresh_keys
    from catalogue_svc.duplicates.models import ContactMatchKey as K

    app = manual_app(url)
    with app.app_context():
        top = db.session.scalar(select(func.max(K.contact_id))) or 0
        ids = random.Random(seed).sample(range(1, top + 1), min(sample, top))

        def keys() -> set[tuple[int, str]]:
            query = select(K.contact_id, K.key).where(K.contact_id.in_(ids))
            return {(i, k) for i, k in db.session.execute(query)}

        before = keys()
        refresh_keys(ids)
        same = keys() == before
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return same


# --------------------------------------------------------------------------- the measured phases


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_checks(
    url: str, probes: list[dict[str, Any]], warmup: list[dict[str, Any]]
) -> dict[str, Any]:
    """In a fresh process: time ``find_candidates`` for each probe, one transaction each."""
    from catalogue_svc.db import db
    from catalogue_svc.duplicates import service

    app = manual_app(url)
    blocks: list[int] = []
    original = service._block

    def block(keys: Any, cap: int) -> list[int]:
        ids = original(keys, cap)
        blocks.append(len(ids))
        return ids

    latencies, results = [], []
    with app.app_context():
        for person in warmup:
            service.find_candidates(person)
            db.session.rollback()
        service._block = block  # type: ignore[assignment]
        for person in probes:
            start = time.perf_counter()
            found = service.find_candidates(person)
            latencies.append(time.perf_counter() - start)
            db.session.rollback()
            results.append([(c["contact_id"], c["level"]) for c in found])
        service._block = original  # type: ignore[assignment]
        db.session.remove()
        db.engine.dispose()
    return {
        "latencies": latencies,
        "results": results,
        "blocks": blocks,
        "peak_rss": _peak_rss_mib(),
    }


def run_baseline(url: str, probes: list[dict[str, Any]], cutoff: int) -> dict[str, Any]:
    """In a fresh process: load every name, then scan them all with ``cdist`` for each probe."""
    import numpy as np
    from rapidfuzz import fuzz, process
    from sqlalchemy import select

    from catalogue_svc.db import db
    from catalogue_svc.duplicates.normalise import normalize_name
    from catalogue_svc.profiles.models import Contact

    app = manual_app(url)
    with app.app_context():
        query = select(Contact.id, Contact.first_name, Contact.last_name).order_by(Contact.id)
        ids_list, names = [], []
        for contact_id, first, last in db.session.execute(query).yield_per(50_000):
            ids_list.append(contact_id)
            names.append(normalize_name(f"{first} {last}"))
        db.session.remove()
        db.engine.dispose()
    ids = np.array(ids_list, dtype=np.int64)
    del ids_list
    latencies, results = [], []
    for person in probes:
        start = time.perf_counter()
        query_name = normalize_name(f"{person['first_name']} {person['last_name']}")
        scores = process.cdist([query_name], names, scorer=fuzz.ratio, dtype=np.uint8, workers=2)[0]
        top = np.argpartition(scores, -10)[-10:]
        top = top[scores[top] >= cutoff]
        found = ids[top].tolist()
        latencies.append(time.perf_counter() - start)
        results.append([(int(i), "possible") for i in found])
    return {"latencies": latencies, "results": results, "peak_rss": _peak_rss_mib()}


def fresh_process(stack: ExitStack) -> Any:
    """A new interpreter (spawn) for one measured phase, started while this process is small:
    the peak RSS a process reports includes what it was forked from, before its exec."""
    return stack.enter_context(mp.get_context("spawn").Pool(1, maxtasksperchild=1))


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def quality(
    results: Sequence[Sequence[tuple[int, str]]], truth: Sequence[int | None]
) -> dict[str, float]:
    """Recall, precision (all and probable candidates) and the share of new people flagged."""
    duplicates = [t for t in truth if t is not None]
    found = sum(
        1
        for r, t in zip(results, truth, strict=True)
        if t is not None and any(i == t for i, _ in r)
    )
    candidates = sum(len(r) for r in results)
    right = sum(1 for r, t in zip(results, truth, strict=True) for i, _ in r if i == t)
    probable = [
        (i, t) for r, t in zip(results, truth, strict=True) for i, lv in r if lv == "probable"
    ]
    new = [r for r, t in zip(results, truth, strict=True) if t is None]
    return {
        "recall": found / len(duplicates) if duplicates else float("nan"),
        "precision": right / candidates if candidates else float("nan"),
        "precision_probable": (
            sum(1 for i, t in probable if i == t) / len(probable) if probable else float("nan")
        ),
        "new_flagged": sum(1 for r in new if r) / len(new) if new else float("nan"),
    }


def machine() -> str:
    """CPU count, model and memory of this machine."""
    model, memory = platform.processor() or "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model
            )
        with open("/proc/meminfo") as f:
            kib = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"nproc {os.cpu_count()}, {model}, {memory} RAM, Python {platform.python_version()}"


def print_invocation(module: str, argv: Sequence[str] | None) -> None:
    """The command line that ran ``module``, and the machine it ran on with its load."""
    command = [os.path.basename(sys.executable), "-m", module, *(argv or sys.argv[1:])]
    print(f"$ {shlex.join(command)}")
    print(f"machine: {machine()}; load average {load_average()}")


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every latency."""
    return f"{os.getloadavg()[0]:.2f}"


def database_version(url: str) -> str:
    """The database engine and version."""
    from sqlalchemy import text

    from catalogue_svc.db import db

    app = manual_app(url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            version = "PostgreSQL " + str(db.session.scalar(text("SHOW server_version")))
        else:
            version = "SQLite " + sqlite3.sqlite_version
        db.session.remove()
        db.engine.dispose()
    return version


def _fmt(value: float, digits: int) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"  # NaN → dash


def print_table(rows: Sequence[tuple[str, float, float, int]]) -> None:
    """figure | value | baseline | ratio (value / baseline)."""
    print(f"| {'figure':<44} | {'value':>10} | {'baseline':>10} | {'ratio':>7} |")
    print(f"| {'-' * 44} | {'-' * 9}: | {'-' * 9}: | {'-' * 6}: |")
    for name, value, baseline, digits in rows:
        ratio = value / baseline if baseline == baseline and baseline and value == value else None
        print(
            f"| {name:<44} | {_fmt(value, digits):>10} | {_fmt(baseline, digits):>10} | "
            f"{'—' if ratio is None else f'{ratio:.3f}':>7} |"
        )


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the store, run the check and the baseline, print the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.duplicates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--baseline-submissions", type=int, default=100)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    parser.add_argument(
        "--start-postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (tests/servers.py) and use it",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a store that already holds --contacts contacts (same --seed)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes computing the keys of the build",
    )
    parser.add_argument(
        "--cutoff",
        type=int,
        default=80,
        help="baseline: least name similarity (0-100) of a candidate",
    )
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args(argv)
    print_invocation("bench.duplicates", argv)

    with ExitStack() as stack:
        checker, scanner = fresh_process(stack), fresh_process(stack)
        url = database_url(stack, args, f"bench-duplicates-{args.contacts}.sqlite3")
        print(f"database: {database_version(url)} ({url})")

        timer = Timer()
        t = time.perf_counter()
        rows = generate_contacts(args.contacts, args.seed)
        t = timer.lap(f"{len(rows):,} contacts generated", t)
        if args.reuse and stored_count(url) == args.contacts:
            print("  store reused")
            keys = None
        else:
            keys = build(url, rows, args.workers, timer)
            print(f"  keys per contact: {keys / len(rows):.1f}")
        print(
            f"  keys equal to refresh_keys' on a 200-contact sample: "
            f"{keys_match_refresh(url, 200, args.seed)}"
        )

        probes = make_probes(rows, args.submissions, args.seed + 7)
        warmup = [p for p, _ in make_probes(rows, 50, args.seed + 11)]
        del rows
        persons = [{k: v for k, v in p.items() if k != "_change"} for p, _ in probes]
        truth = [t for _, t in probes]
        step = max(1, len(probes) // max(1, args.baseline_submissions))
        sample = list(range(0, len(probes), step))[: args.baseline_submissions]

        t = time.perf_counter()
        checks = checker.apply(run_checks, (url, persons, warmup))
        t = timer.lap(f"{len(persons)} checks (load average {load_average()})", t)
        base = scanner.apply(run_baseline, (url, [persons[i] for i in sample], args.cutoff))
        timer.lap(
            f"{len(sample)} baseline scans, names loaded first (load average {load_average()})", t
        )

    ours = quality(checks["results"], truth)
    theirs = quality(base["results"], [truth[i] for i in sample])
    lat = [x * 1000 for x in checks["latencies"]]
    base_lat = [x * 1000 for x in base["latencies"]]
    print()
    print(
        f"{args.contacts:,} contacts, {len(persons)} submissions "
        f"({sum(t is not None for t in truth)} near-duplicates); baseline: full "
        f"rapidfuzz.process.cdist scan (fuzz.ratio, workers=2, top 10 ≥ {args.cutoff}) "
        f"on {len(sample)} of them"
    )
    print()
    print_table(
        [
            ("latency p50 (ms)", percentile(lat, 50), percentile(base_lat, 50), 2),
            ("latency p95 (ms)", percentile(lat, 95), percentile(base_lat, 95), 2),
            ("latency p99 (ms)", percentile(lat, 99), percentile(base_lat, 99), 2),
            ("peak RSS of the checking process (MiB)", checks["peak_rss"], base["peak_rss"], 0),
            ("recall (true duplicate among candidates)", ours["recall"], theirs["recall"], 3),
            (
                "precision (candidates that are the truth)",
                ours["precision"],
                theirs["precision"],
                3,
            ),
            ("precision of 'probable' candidates", ours["precision_probable"], float("nan"), 3),
            (
                "new people with any candidate (share)",
                ours["new_flagged"],
                theirs["new_flagged"],
                3,
            ),
            ("contacts loaded per check, p50", percentile(checks["blocks"], 50), args.contacts, 0),
            ("contacts loaded per check, p99", percentile(checks["blocks"], 99), args.contacts, 0),
            ("contacts loaded per check, max", max(checks["blocks"]), args.contacts, 0),
        ]
    )
    changes = Counter(p["_change"] for p, t in probes if t is not None)
    missed = Counter(
        p["_change"]
        for (p, t), r in zip(probes, checks["results"], strict=True)
        if t is not None and all(i != t for i, _ in r)
    )
    print()
    print(
        "near-duplicates missed, by change: "
        + ", ".join(f"{c} {missed[c]}/{n}" for c, n in changes.most_common())
    )
    p95, base_p95 = percentile(lat, 95), percentile(base_lat, 95)
    print(
        f"goal p95 ≤ baseline p95 / 10: {'met' if p95 <= base_p95 / 10 else 'NOT met'} "
        f"({p95:.2f} ms vs {base_p95 / 10:.2f} ms); recall ≥ 0.98: "
        f"{'met' if ours['recall'] >= 0.98 else 'NOT met'} ({ours['recall']:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

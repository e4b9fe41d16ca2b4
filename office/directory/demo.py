"""Who does what at Drivhuset (demo data; see shared/DOMAIN.md)."""

from __future__ import annotations

from sqlalchemy import select

from office.accounts.models import Unit, User
from office.core.extensions import db
from office.directory.models import DirectoryEntry, UnitDescription

# e-mail local part -> role, what they help with, phone, other ways, days (empty: derived).
# Phone numbers from the range PTS reserves for fiction (070-174 06 05 to 070-174 06 99).
ENTRIES = {
    "anna.lind": ("Projektledare, samordnar Drivhuset",
                  "Lokaler och arbetsplatser, styrgruppen och arbetsgruppen, halvårsrapporten, "
                  "nya aktörer som vill vara med.", "070-174 06 11", "Teams", ""),
    "erik.holm": ("Sektionschef Arbetsförmedlingen", "Arbetsförmedlingens uppdrag i samverkan, "
                  "arbetsgruppen, avtal och överenskommelser.", "070-174 06 12", "", ""),
    "sara.berg": ("Handläggare, unga 16–29", "Inskrivning, arbetsmarknadsutbildningar, "
                  "trepartssamtal med kommunen.", "070-174 06 13", "", ""),
    "jonas.ek": ("Handläggare", "Lönebidrag och introduktionsjobb, kontakter med arbetsgivare.",
                 "070-174 06 14", "", ""),
    "leila.haddad": ("Handläggare, etableringen", "Nyanlända, SFI i kombination med praktik, "
                     "tolk vid samtal.", "070-174 06 15", "", ""),
    "maria.sund": ("Psykolog", "Utredning av arbetsförmåga; deltar i handläggargruppen en gång "
                   "i månaden.", "", "Via handläggaren", "Första tisdagen i månaden"),
    "oskar.lund": ("Fysioterapeut", "Ergonomi, fysisk arbetsförmåga, anpassning av arbetsplats.",
                   "", "Via handläggaren", ""),
    "karin.nyberg": ("Enhetschef Arbetsmarknadsenheten", "Arbetsmarknadsenhetens insatser, "
                     "praktikplatser i kommunen, styrgruppen.", "070-174 06 16", "", ""),
    "ali.yusuf": ("Jobbcoach", "Coachning mot arbete, CV och intervjuträning, praktik.",
                  "070-174 06 17", "", ""),
    "emma.strand": ("Jobbcoach, unga vuxna", "Unga som varken arbetar eller studerar, "
                    "#klarframtid, uppsökande arbete.", "070-174 06 18", "", ""),
    "petra.aberg": ("Socialsekreterare", "Ekonomiskt bistånd, planering tillsammans med AF, "
                    "samtycke till informationsutbyte.", "070-174 06 19", "", ""),
    "mikael.ost": ("Socialsekreterare", "Ekonomiskt bistånd för unga vuxna, boendefrågor.",
                   "070-174 06 20", "", ""),
    "lena.falk": ("Rektor Campus Oxelösund", "Komvux, SFI och yrkesutbildningar, "
                  "styrgruppen.", "070-174 06 21", "", ""),
    "hanna.vik": ("Biträdande rektor SFI", "SFI-platser, studier kombinerade med praktik, "
                  "handläggargruppen.", "070-174 06 22", "", ""),
    "nils.dahl": ("Studie- och yrkesvägledare", "Studieval, validering, CSN och studiestart.",
                  "070-174 06 23", "", ""),
    "sofia.gron": ("Rehabkoordinator Vårdcentralen", "Sjukskrivning och rehabilitering, TRIS, "
                   "kontakt med vården.", "070-174 06 24", "", "Vid behov, efter överenskommelse"),
    "per.malm": ("Samverkansansvarig Försäkringskassan", "Sjukpenning, aktivitetsstöd, "
                 "samordnad rehabilitering.", "070-174 06 25", "", "Vid behov"),
    "amira.nasser": ("Delprojektledare #klarframtid", "Unga 16–24 som varken arbetar eller "
                     "studerar, ESF-projektet.", "070-174 06 26", "", ""),
    "johan.bjork": ("Projektmedarbetare #klarframtid", "Aktiviteter och gruppträffar för unga.",
                    "070-174 06 27", "", ""),
    "fatima.ali": ("Delprojektledare Klara", "Kvinnor födda utanför Europa långt från "
                   "arbetsmarknaden, ESF-projektet.", "070-174 06 28", "", ""),
    "eva.lindqvist": ("Projektmedarbetare Klara", "Gruppträffar, språkstöd, vägen till "
                      "praktik.", "070-174 06 29", "", ""),
}

UNITS = {
    "Arbetsmarknadsenheten": "Jobbcoacher och arbetsmarknadsinsatser för den som står långt "
                             "från arbete.",
    "Ekonomiskt bistånd": "Socialsekreterare som handlägger försörjningsstöd.",
    "Campus Oxelösund": "SFI, Komvux och studie- och yrkesvägledning.",
    "Vårdcentralen": "Rehabkoordinator som kommer till Drivhuset vid behov.",
}


def seed_directory() -> None:
    """Added to `seed-demo` through office.demo.seed.add_demo_step()."""
    for user in db.session.scalars(select(User)):
        local = user.email.split("@")[0]
        if local in ENTRIES and db.session.get(DirectoryEntry, user.id) is None:
            role, help_with, phone, other, days = ENTRIES[local]
            db.session.add(DirectoryEntry(user_id=user.id, role=role, help_with=help_with,
                                          phone=phone, other_contact=other, days_override=days))
    for unit in db.session.scalars(select(Unit)):
        if unit.name in UNITS and db.session.get(UnitDescription, unit.id) is None:
            db.session.add(UnitDescription(unit_id=unit.id, description=UNITS[unit.name]))
    db.session.flush()

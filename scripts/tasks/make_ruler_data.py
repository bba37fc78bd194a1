#!/usr/bin/env python3
"""Builds Sources/A2ATSTasks/Data/{essay.txt,words.json,qa_squad.json,qa_hotpot.json}.

Inputs (see Sources/A2ATSTasks/Data/PROVENANCE.md):
  ALICE: Project Gutenberg eBook #11, Alice's Adventures in Wonderland (public domain),
         as examples/alice.txt in amueller/word_cloud; the Project Gutenberg header and
         footer are removed, so no Project Gutenberg trademark text is redistributed.
  CONSTITUTION: the Constitution of the United States (public domain), examples/constitution.txt
         in amueller/word_cloud.
  WONDERWORDS: the wonderwords 3.0.1 wheel (MIT) word lists nounlist/adjectivelist/verblist,
         the same lists RULER draws its keys and common words from.
The QA items below were written for this project (CC0): qa_1 questions are answered by one
Constitution paragraph (SQuAD-style, answer is a span); qa_2 items are two-hop questions
over pairs of short original paragraphs about invented entities (HotpotQA-style).

Usage: make_ruler_data.py alice.txt constitution.txt wonderwords_assets_dir OUT_DIR
"""
import json, re, sys

alice_path, constitution_path, ww_dir, out = sys.argv[1:5]
alice = open(alice_path, encoding="utf-8-sig").read()
start = alice.index("*** START OF THIS PROJECT GUTENBERG EBOOK")
start = alice.index("\n", start) + 1
end = alice.index("*** END OF THIS PROJECT GUTENBERG EBOOK")
alice = alice[start:end].strip()
constitution = open(constitution_path, encoding="utf-8").read().strip()

def paragraphs(text):
    return [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]

with open(f"{out}/essay.txt", "w", encoding="utf-8") as f:
    f.write("\n\n".join(paragraphs(constitution) + paragraphs(alice)) + "\n")

def words(name):
    return [w.strip() for w in open(f"{ww_dir}/{name}", encoding="utf-8") if w.strip()]
json.dump({"nouns": words("nounlist.txt"), "adjectives": words("adjectivelist.txt"), "verbs": words("verblist.txt")},
          open(f"{out}/words.json", "w"), indent=0)

const_docs = [p for p in paragraphs(constitution) if len(p) > 30]
alice_docs = [p for p in paragraphs(alice) if len(p) > 200]
docs = sorted(set(const_docs + alice_docs))
# (question, answers, unique phrase of the paragraph that answers it)
SQUAD = [
    ("How old must a person be to serve as a Representative?", ["twenty five Years"], "No Person shall be a Representative"),
    ("How many years must a Senator have been a citizen of the United States?", ["nine Years"], "No Person shall be a Senator"),
    ("How many Senators does each State have?", ["two"], "composed of two Senators from each State"),
    ("For how many years is a Senator chosen?", ["six Years"], "composed of two Senators from each State"),
    ("Who is the President of the Senate?", ["The Vice President of the United States", "the Vice President"], "The Vice President of the United States shall be President of the Senate"),
    ("Which chamber has the sole Power of Impeachment?", ["The House of Representatives", "House of Representatives"], "The House of Representatives shall chuse their Speaker"),
    ("Which body has the sole Power to try all Impeachments?", ["The Senate", "Senate"], "The Senate shall have the sole Power to try all Impeachments"),
    ("Who presides when the President of the United States is tried?", ["the Chief Justice", "Chief Justice"], "The Senate shall have the sole Power to try all Impeachments"),
    ("On what day was Congress to meet each year unless a law appointed a different day?", ["the first Monday in December", "first Monday in December"], "The Congress shall assemble at least once in every Year"),
    ("What fraction of a House is needed to expel a Member?", ["two thirds"], "Each House may determine the Rules of its Proceedings"),
    ("For how many days may one House adjourn without the consent of the other?", ["three days"], "Neither House, during the Session of Congress"),
    ("Where must all Bills for raising Revenue originate?", ["in the House of Representatives", "House of Representatives"], "All Bills for raising Revenue shall originate"),
    ("How many days (Sundays excepted) does the President have to return a Bill?", ["ten Days", "ten"], "Every Bill which shall have passed the House of Representatives"),
    ("What may Congress fix the Standard of, besides regulating the value of coin?", ["Weights and Measures"], "To coin Money, regulate the Value thereof"),
    ("What does Congress establish along with post Roads?", ["Post Offices"], "To establish Post Offices and post Roads"),
    ("For what maximum term may money be appropriated to raise and support Armies?", ["two Years"], "To raise and support Armies"),
    ("How large may the district of the seat of government be at most?", ["ten Miles square"], "To exercise exclusive Legislation in all Cases whatsoever"),
    ("Which writ may be suspended only in cases of Rebellion or Invasion?", ["Habeas Corpus", "the Writ of Habeas Corpus"], "The Privilege of the Writ of Habeas Corpus"),
    ("What kind of law, besides a Bill of Attainder, shall not be passed?", ["ex post facto Law", "ex post facto"], "No Bill of Attainder or ex post facto Law shall be passed."),
    ("On what may no tax or duty be laid?", ["Articles exported from any State"], "No Tax or Duty shall be laid on Articles exported from any State."),
    ("For how many years does the President hold office?", ["four Years", "four"], "The executive Power shall be vested in a President"),
    ("What is the minimum age to be eligible to the Office of President?", ["thirty five Years", "thirty five"], "No Person except a natural born Citizen"),
    ("How many years must the President have been a resident within the United States?", ["fourteen Years", "fourteen"], "No Person except a natural born Citizen"),
    ("Who is Commander in Chief of the Army and Navy?", ["The President", "the President"], "Commander in Chief"),
    ("What share of Senators present must concur for the President to make Treaties?", ["two thirds"], "He shall have Power, by and with the Advice and Consent of the Senate, to make Treaties"),
    ("In which court is the judicial Power vested, besides inferior courts?", ["one supreme Court", "supreme Court"], "judicial Power of the United States shall be vested in one supreme Court"),
    ("How many witnesses to the same overt Act are needed to convict of Treason?", ["two Witnesses", "two"], "Treason against the United States, shall consist only"),
    ("What form of government does the United States guarantee to every State?", ["a Republican Form of Government", "Republican Form of Government"], "The United States shall guarantee to every State"),
    ("What is the supreme Law of the Land together with laws and treaties?", ["This Constitution", "the Constitution"], "This Constitution, and the Laws of the United States"),
    ("How many State Conventions had to ratify for the Constitution to be established?", ["nine States", "nine"], "The Ratification of the Conventions of nine States"),
    ("What test shall never be required as a qualification to any office?", ["religious Test", "no religious Test"], "religious Test"),
    ("What is the Tax or duty limit per person on the importation of persons?", ["ten dollars"], "The Migration or Importation of such Persons"),
]

def find_doc(phrase):
    hits = [i for i, d in enumerate(docs) if phrase in d]
    assert hits, phrase
    return hits[0]

squad = []
for question, answers, phrase in SQUAD:
    i = find_doc(phrase)
    for a in answers[:1]:
        assert a.lower() in docs[i].lower(), (question, a)
    squad.append({"query": question, "outputs": answers, "context": [i]})
json.dump({"docs": docs, "qas": squad}, open(f"{out}/qa_squad.json", "w"), ensure_ascii=False, indent=0)

# HotpotQA-style bridge questions: (question, answer, (title1, text1), (title2, text2)); invented entities.
HOTPOT = [
    ("In which town was the designer of the Marlow Bridge born?", "Ashby",
     ("Marlow Bridge", "The Marlow Bridge is a stone arch bridge over the river Wend. It was designed by the engineer Helen Tarrant and opened in 1871."),
     ("Helen Tarrant", "Helen Tarrant was a civil engineer born in the market town of Ashby. She trained under her uncle, a canal builder.")),
    ("What instrument did the founder of the Greywell Choir play?", "the cello",
     ("Greywell Choir", "The Greywell Choir is an amateur choir founded in 1902 by Arthur Penrose, a local schoolmaster."),
     ("Arthur Penrose", "Arthur Penrose was a schoolmaster and musician who played the cello in the county orchestra for thirty years.")),
    ("Which river flows through the capital of Veltria?", "the Ostra",
     ("Veltria", "Veltria is a small inland country whose capital is the city of Karsk. Its main exports are timber and wool."),
     ("Karsk", "Karsk is a city built on both banks of the Ostra, a slow river that freezes most winters.")),
    ("What was the first novel of the author who wrote The Salt Orchard?", "Winter Lamps",
     ("The Salt Orchard", "The Salt Orchard is a novel by Miriam Okafor about a family of fruit growers on a windy coast."),
     ("Miriam Okafor", "Miriam Okafor is a novelist. Her first novel, Winter Lamps, was published when she was twenty-six.")),
    ("In what year was the ship that carried the Halden expedition launched?", "1856",
     ("Halden expedition", "The Halden expedition mapped the northern islands aboard the schooner Petrel, returning after two summers."),
     ("Petrel (schooner)", "The Petrel was a two-masted schooner launched in 1856 at the yard of Crane and Sons.")),
    ("Which university did the inventor of the Loomis lamp attend?", "Bramford University",
     ("Loomis lamp", "The Loomis lamp is an oil lamp with a double wick, invented by Clara Loomis to light reading rooms."),
     ("Clara Loomis", "Clara Loomis studied natural philosophy at Bramford University before opening a workshop of her own.")),
    ("What is the name of the mountain overlooking the village where the Tesk cheese is made?", "Mount Orel",
     ("Tesk cheese", "Tesk is a hard sheep's milk cheese made only in the village of Dovra."),
     ("Dovra", "Dovra is a mountain village in a high valley, overlooked by Mount Orel.")),
    ("Who coached the team that won the first Harrow Cup?", "Samuel Reyes",
     ("Harrow Cup", "The first Harrow Cup was won by the Eastfield Rovers, who beat the Millbank Athletic by two goals."),
     ("Eastfield Rovers", "The Eastfield Rovers are a football club whose first coach was Samuel Reyes, a former railway clerk.")),
    ("What language was spoken by the people who built the Tor Amun fortress?", "Old Kessic",
     ("Tor Amun", "Tor Amun is a ruined hill fortress built by the Kessi people in the eighth century."),
     ("Kessi people", "The Kessi were herders and traders who spoke Old Kessic, a language now known only from inscriptions.")),
    ("What colour is the flower that appears on the flag of the province of Lann?", "blue",
     ("Flag of Lann", "The flag of the province of Lann shows a single mountain gentian on a white field."),
     ("Mountain gentian", "The mountain gentian is a small alpine plant with a deep blue flower that opens in full sun.")),
    ("In which city is the museum that holds the painting The Red Kite?", "Wexmoor",
     ("The Red Kite (painting)", "The Red Kite is an oil painting by Tomas Vell. It hangs in the Carrow Museum."),
     ("Carrow Museum", "The Carrow Museum is an art museum in the city of Wexmoor, founded by a wool merchant.")),
    ("How many strings does the instrument invented by Ida Feld have?", "seven",
     ("Ida Feld", "Ida Feld was an instrument maker who invented the feldharp, which she played at village dances."),
     ("Feldharp", "The feldharp is a small lap harp with seven strings tuned to a single scale.")),
]
hot = [{"question": q, "answer": a, "context": [[t1, [p1]], [t2, [p2]]]} for q, a, (t1, p1), (t2, p2) in HOTPOT]
json.dump(hot, open(f"{out}/qa_hotpot.json", "w"), ensure_ascii=False, indent=0)
print(len(docs), "squad docs,", len(squad), "squad questions,", len(hot), "hotpot questions")

"""Made-up names and places for demo people: no real person is described."""

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy "
    "Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela "
    "Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine "
    "Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria "
    "Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia "
    "Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah "
    "Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald "
    "Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances "
    "Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy Alice Joe Judy Bruce Sophia "
    "Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn Juan Danielle Wayne "
    "Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene "
    "Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Louis Aiko Mateo Priya Wei "
    "Fatima Omar Lucia Diego Mei Arjun Yuki Chen Amara Kofi Ines Nikolai Leila Tariq Sofia"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West "
    "Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
    "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry "
    "Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd "
    "Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kowalski Novak Haddad Okafor Tanaka"
).split()

STREETS = (
    "Oak Maple Cedar Pine Elm Walnut Washington Lincoln Jefferson Adams Monroe Madison Lake "
    "Hill Park Meadow Ridge Spring Church Market Mill Grove Sunset Prairie Capitol Wabash"
).split()

CITIES = (
    ("Springfield", "62701"),
    ("Springfield", "62702"),
    ("Springfield", "62703"),
    ("Springfield", "62704"),
    ("Chatham", "62629"),
    ("Sherman", "62684"),
    ("Rochester", "62563"),
    ("Riverton", "62561"),
    ("Auburn", "62615"),
    ("Petersburg", "62675"),
    ("Pawnee", "62558"),
    ("Williamsville", "62693"),
)

SPECIALTIES = (
    ("Family medicine", "207Q00000X", "MD"),
    ("Internal medicine", "207R00000X", "MD"),
    ("Pediatrics", "208000000X", "MD"),
    ("Family nurse practitioner", "363LF0000X", "NP"),
    ("Physician assistant", "363A00000X", "PA-C"),
    ("Obstetrics and gynecology", "207V00000X", "DO"),
)
